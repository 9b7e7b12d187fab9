// bullmq-bench.mjs -- the baseline of `make bench-scheduler`: BullMQ delayed
// jobs on the same Redis, measured like the scheduler (bench/scheduler/run).
//
//   node bullmq-bench.mjs REDIS_URL PHASE N [ARGS...]
//     schedule N                 add N delayed jobs (far future) with addBulk;
//                                prints {"rate":..., "bytes_per_job":...}
//     fire N AT_MS               add N jobs all due at AT_MS (unix ms), then one
//                                worker fires them: {"rate": N / (last - AT_MS)}
//     late N START_MS SPAN_MS    N jobs due evenly over [START, START+SPAN]:
//                                lateness p50/p99/max of the firing (ms)
// Every phase uses its own queue and obliterates it at the end. The job data
// mirrors an invoice's state (ids, amounts, dates), like the scheduler's.
import { Queue, Worker } from "bullmq";
import IORedis from "ioredis";

const [url, phase, nStr, a1, a2] = process.argv.slice(2);
const N = parseInt(nStr, 10);
const CHUNK = 1000;
const CONCURRENCY = parseInt(process.env.BULLMQ_CONCURRENCY || "200", 10);
const connection = new IORedis(url, { maxRetriesPerRequest: null });
const name = `sch-bench-${phase}-${process.pid}`;
const queue = new Queue(name, { connection });

function jobData(i) {
  return {
    tenant: "bench", invoice_id: "I" + String(i).padStart(8, "0"), customer_id: "C" + String(Math.floor(i / 10)).padStart(7, "0"),
    currency: "EUR", amount_minor: 1000 + (i % 100000), due_on: "2027-01-01", step: 0,
  };
}

async function usedMemory() {
  const info = await connection.info("memory");
  return parseInt(/used_memory:(\d+)/.exec(info)[1], 10);
}

// CPU seconds of Redis's main thread so far (INFO cpu), and of this process.
async function redisCpu() {
  const info = await connection.info("cpu");
  const f = (k) => { const m = new RegExp(k + ":([0-9.]+)").exec(info); return m ? parseFloat(m[1]) : null; };
  const u = f("used_cpu_user_main_thread");
  return u !== null ? u + f("used_cpu_sys_main_thread") : f("used_cpu_user") + f("used_cpu_sys");
}

function ownCpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function addAll(dueOf) {
  for (let i = 0; i < N; i += CHUNK) {
    const jobs = [];
    const now = Date.now();
    for (let k = i; k < Math.min(N, i + CHUNK); k++) {
      jobs.push({ name: "remind", data: jobData(k), opts: { delay: Math.max(0, dueOf(k) - now), removeOnComplete: true, removeOnFail: true } });
    }
    await queue.addBulk(jobs);
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  let out = {};
  if (phase === "schedule") {
    const m0 = await usedMemory();
    const r0 = await redisCpu(), c0 = ownCpu();
    const t0 = Date.now();
    await addAll(() => Date.now() + 365 * 86400000);
    const t1 = Date.now();
    const cpu_s = ownCpu() - c0, redis_cpu_s = (await redisCpu()) - r0;
    const m1 = await usedMemory();
    out = { n: N, seconds: (t1 - t0) / 1000, rate: N / ((t1 - t0) / 1000), bytes_per_job: (m1 - m0) / N, cpu_s, redis_cpu_s };
  } else if (phase === "fire") {
    const at = parseInt(a1, 10);
    await addAll(() => at);
    if (Date.now() > at) out.warning = "jobs were still being added when they fell due";
    // CPU from the worker's start to the last job: the firing only (the
    // scheduler's fire phase likewise starts with its timers already made)
    const r0 = await redisCpu(), c0 = ownCpu();
    let done = 0, last = 0;
    const finished = new Promise((resolve) => {
      const w = new Worker(name, async () => { last = Date.now(); if (++done === N) resolve(w); }, { connection, concurrency: CONCURRENCY });
    });
    const w = await finished;
    const cpu_s = ownCpu() - c0, redis_cpu_s = (await redisCpu()) - r0;
    await w.close();
    out = { ...out, n: N, seconds: (last - at) / 1000, rate: N / ((last - at) / 1000), cpu_s, redis_cpu_s };
  } else if (phase === "late") {
    const start = parseInt(a1, 10), span = parseInt(a2, 10);
    const due = (k) => start + Math.floor((k * span) / N);
    await addAll(due);
    if (Date.now() > start) out.warning = "jobs were still being added when they fell due";
    const late = new Array(N);
    let done = 0;
    const finished = new Promise((resolve) => {
      const w = new Worker(name, async (job) => {
        late[done] = Date.now() - (job.timestamp + job.opts.delay);
        if (++done === N) resolve(w);
      }, { connection, concurrency: CONCURRENCY });
    });
    const w = await finished;
    await w.close();
    late.sort((x, y) => x - y);
    out = { ...out, n: N, p50_ms: pct(late, 50), p99_ms: pct(late, 99), max_ms: late[N - 1] };
  } else {
    throw new Error("unknown phase " + phase);
  }
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
