/* snapshot.c -- the whole state, with the offsets it reflects, as bytes.
 *
 * Format (all integers little-endian): "REPSNAP4", then every array of the
 * state in order, then every index map as (key, value) pairs, then the
 * offsets, "END1" and a 64-bit checksum of everything before it (a damaged
 * snapshot is refused and the state rebuilt from Kafka rather than trusted).
 * Strings are u32 length + bytes (0xffffffff = NULL). Customer
 * invoice lists are rebuilt from the invoices on decode. A snapshot is
 * only ever read by the same major version: on a magic mismatch the
 * reporter rebuilds from Kafka instead ("REPSNAP1", before the money facts
 * of issue 14, and "REPSNAP2", before the hand-off cases and facts of
 * issue 16, whose events they had passed over, "REPSNAP3", before
 * issue 17's deliverability facts, and "REPSNAP4", before issue 18's
 * retention and what it leaves of dropped facts, are such mismatches). The
 * checksum is rep_sum64 below, not common/'s FNV-1a (cm_fnv1a64): it reads
 * 8 bytes a step, and every stored snapshot carries it, so it stays as it
 * is. The bytes are built in one cm_buf. */
#include "reporter.h"

#include "buf.h"
#include "contract.h"

#include <stdlib.h>
#include <string.h>

static void w_u64(cm_buf *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    cm_buf_add(w, b, 8);
}
static void w_u32(cm_buf *w, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    cm_buf_add(w, b, 4);
}
static void w_str(cm_buf *w, const char *s)
{
    if (!s) {
        w_u32(w, 0xffffffffu);
        return;
    }
    size_t n = strlen(s);
    w_u32(w, (uint32_t)n);
    cm_buf_add(w, s, n);
}

typedef struct rep_rbuf {
    const unsigned char *p;
    size_t len, off;
    int bad;
} rep_rbuf;

static uint64_t r_u64(rep_rbuf *r)
{
    if (r->bad || r->len - r->off < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += 8;
    return v;
}
static uint32_t r_u32(rep_rbuf *r)
{
    if (r->bad || r->len - r->off < 4) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += 4;
    return v;
}
/* A count that must fit in the rest of the buffer at min_size bytes each. */
static uint32_t r_count(rep_rbuf *r, size_t min_size)
{
    uint32_t n = r_u32(r);
    if (!r->bad && (size_t)n * min_size > r->len - r->off)
        r->bad = 1;
    return r->bad ? 0 : n;
}
static char *r_str(rep_rbuf *r)
{
    uint32_t n = r_u32(r);
    if (r->bad || n == 0xffffffffu)
        return NULL;
    if (r->len - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = 1;
        return NULL;
    }
    memcpy(s, r->p + r->off, n);
    s[n] = 0;
    r->off += n;
    return s;
}

/* A fast 64-bit checksum (word-wise multiply-xorshift), not cryptographic. */
static uint64_t rep_sum64(const unsigned char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    h ^= h >> 29;
    return h;
}

#define W64(x) w_u64(&w, (uint64_t)(x))
#define W32(x) w_u32(&w, (uint32_t)(x))

static void w_map(cm_buf *wb, const cm_map *m)
{
    w_u64(wb, m->len);
    const char *key;
    uint32_t val;
    for (size_t i = 0; i < m->cap; i++)
        if (cm_map_at(m, i, &key, &val)) {
            w_str(wb, key);
            w_u32(wb, val);
        }
}

int rep_snapshot_encode(const rep_state *st, char **buf, size_t *len, char *errstr, size_t errlen)
{
    cm_buf w = CM_BUF_INIT;
    cm_buf_add(&w, "REPSNAP5", 8);
    W32(st->ntenants);
    for (uint32_t i = 0; i < st->ntenants; i++)
        w_str(&w, st->tenants[i]);
    W32(st->ncurs);
    for (uint32_t i = 0; i < st->ncurs; i++) {
        w_str(&w, st->curs[i].code);
        W32(st->curs[i].exponent);
    }
    W32(st->ncusts);
    for (uint32_t i = 0; i < st->ncusts; i++) {
        w_str(&w, st->custs[i].id);
        w_str(&w, st->custs[i].name);
        W32(st->custs[i].tenant);
        W32(st->custs[i].gone_first);
        W32(st->custs[i].gone_lastpay);
        W32(st->custs[i].gone_broken);
        W32(st->custs[i].ngone_paid);
        for (uint32_t k = 0; k < st->custs[i].ngone_paid; k++) {
            W32(st->custs[i].gone_paid[k].paid);
            W32(st->custs[i].gone_paid[k].late);
            w_str(&w, st->custs[i].gone_paid[k].id);
        }
    }
    W32(st->ninvs);
    for (uint32_t i = 0; i < st->ninvs; i++) {
        const rep_inv *v = &st->invs[i];
        w_str(&w, v->id);
        W32(v->tenant);
        W32(v->cust);
        W32(v->cur);
        W32(v->known);
        W32(v->close_kind);
        W32(v->issued);
        W32(v->due);
        W32(v->close_day);
        W64(v->amount);
        W32(v->nmoves);
        for (const rep_move *mv = v->moves; mv < v->moves + v->nmoves; mv++) {
            W64(mv->amount);
            W64(mv->at_ms);
            W32(mv->day);
            W32(mv->ref);
            W32(mv->kind);
        }
        W32(v->ncontacts);
        for (uint32_t k = 0; k < v->ncontacts; k++)
            W32(v->contacts[k]);
    }
    W32(st->npays);
    for (uint32_t i = 0; i < st->npays; i++) {
        const rep_pay *p = &st->pays[i];
        W32(p->tenant);
        W32(p->cust);
        W32(p->cur);
        W32(p->day);
        W32(p->reversed_day);
        W64(p->at_ms);
        W64(p->amount);
        W32(p->nallocs);
        for (uint32_t k = 0; k < p->nallocs; k++) {
            W32(p->allocs[k].inv);
            W64(p->allocs[k].amount);
        }
    }
    W32(st->nproms);
    for (uint32_t i = 0; i < st->nproms; i++) {
        const rep_promise *p = &st->proms[i];
        W32(p->tenant);
        W32(p->cust);
        W32(p->cur);
        W32(p->made);
        W32(p->outcome);
        W32(p->made_day);
        W32(p->promised_on);
        W32(p->outcome_day);
        W64(p->made_ms);
        W64(p->amount);
        W32(p->ninvs);
        for (uint32_t k = 0; k < p->ninvs; k++)
            W32(p->invs[k]);
    }
    W32(st->ngroups);
    for (uint32_t i = 0; i < st->ngroups; i++) {
        const rep_group *g = &st->groups[i];
        W32(g->tenant);
        w_str(&w, g->strategy);
        w_str(&w, g->variant);
        w_str(&w, g->channel);
        W64(g->step);
        W64(g->gone_failed);
        W32(g->ngone_sent);
        for (uint32_t k = 0; k < g->ngone_sent; k++)
            W64(g->gone_sent[k]);
        W64(g->gone_contacted);
        W64(g->gone_responded);
        W64(g->gone_invoices);
        W64(g->gone_paid);
        W32(g->ngone_rec);
        for (uint32_t k = 0; k < g->ngone_rec; k++)
            W64(g->gone_rec[k]);
        W32(g->ngone_days);
        for (uint32_t k = 0; k < g->ngone_days; k++) {
            W32(g->gone_days[k].days);
            W64(g->gone_days[k].n);
        }
        W32(g->ngone_curs);
        for (uint32_t k = 0; k < g->ngone_curs; k++)
            W32(g->gone_curs[k]);
    }
    W32(st->ncontacts);
    for (uint32_t i = 0; i < st->ncontacts; i++) {
        W64(st->contacts[i].at_ms);
        W32(st->contacts[i].group);
        W32((uint32_t)st->contacts[i].sent | (uint32_t)st->contacts[i].gone_cur << 8);
    }
    W32(st->nmoney);
    for (uint32_t i = 0; i < st->nmoney; i++) {
        const rep_money *m = &st->money[i];
        W32(m->tenant);
        W32(m->cur);
        W32(m->kind);
        W32(m->detail);
        W32(m->day);
        W64(m->amount);
        W64(m->extra);
    }
    W32(st->ncases);
    for (uint32_t i = 0; i < st->ncases; i++) {
        const rep_case *c = &st->cases[i];
        w_str(&w, c->id);
        W32(c->tenant);
        W32(c->cur);
        W32(c->placed);
        W32(c->to);
        W32(c->placed_day);
    }
    W32(st->nescs);
    for (uint32_t i = 0; i < st->nescs; i++) {
        const rep_esc *f = &st->escs[i];
        W32(f->tenant);
        W32(f->kase);
        W32(f->cur);
        W32(f->kind);
        W32(f->day);
        W64(f->amount);
        W64(f->extra);
    }
    W32(st->ntmpls);
    for (uint32_t i = 0; i < st->ntmpls; i++) {
        W32(st->tmpls[i].tenant);
        W32(st->tmpls[i].channel);
        w_str(&w, st->tmpls[i].name);
        for (int k = 0; k <= REP_FB_REPLIED; k++)
            W64(st->tmpls[i].gone_n[k]);
        W64(st->tmpls[i].gone_hard);
    }
    W32(st->nfbs);
    for (uint32_t i = 0; i < st->nfbs; i++) {
        const rep_fb *f = &st->fbs[i];
        W32(f->tenant);
        W32(f->cust);
        W32(f->tmpl);
        W32((uint32_t)f->kind | (uint32_t)f->channel << 8 | (uint32_t)f->hard << 16);
        W64(f->at_ms);
    }
    W32(st->nsales);
    for (uint32_t i = 0; i < st->nsales; i++) {
        W32(st->sales[i].tenant);
        W32(st->sales[i].cur);
        W32(st->sales[i].month);
        W64(st->sales[i].amount);
        W32((uint32_t)st->sales[i].money | (uint32_t)st->sales[i].esc << 8);
        W64(st->sales[i].placed);
        W64(st->sales[i].remitted);
        W64(st->sales[i].commission);
    }
    W32(st->horizon);
    W32(st->ngone_unattr);
    for (uint32_t i = 0; i < st->ngone_unattr; i++)
        W64(st->gone_unattr[i]);
    const cm_map *maps[] = {&st->tenant_ix, &st->cur_ix,   &st->inv_ix,  &st->cust_ix, &st->pay_ix,
                            &st->prom_ix,   &st->group_ix, &st->case_ix, &st->seen};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        w_map(&w, maps[i]);
    W64(st->applied);
    W64(st->duplicates);
    W64(st->rejected);
    W32(st->offsets.n);
    for (int i = 0; i < st->offsets.n; i++) {
        w_str(&w, st->offsets.topic[i]);
        W32(st->offsets.part[i]);
        W64(st->offsets.next[i]);
    }
    cm_buf_add(&w, "END1", 4);
    if (!w.oom)
        w_u64(&w, rep_sum64((const unsigned char *)w.p, w.len));
    *buf = cm_buf_take(&w, len); /* frees the buffer after an oom */
    if (!*buf) {
        snprintf(errstr, errlen, "snapshot: out of memory");
        return -1;
    }
    return 0;
}

#define R32() r_u32(&r)
#define R64() r_u64(&r)

rep_state *rep_snapshot_decode(const char *buf, size_t len, char *errstr, size_t errlen)
{
    rep_rbuf r = {(const unsigned char *)buf, len, 0, 0};
    rep_state *st = NULL;
    if (len < 20 || memcmp(buf, "REPSNAP5", 8)) {
        snprintf(errstr, errlen, "snapshot: unknown format");
        return NULL;
    }
    {
        rep_rbuf t = {(const unsigned char *)buf, len, len - 8, 0};
        if (r_u64(&t) != rep_sum64((const unsigned char *)buf, len - 8)) {
            snprintf(errstr, errlen, "snapshot: checksum mismatch (damaged)");
            return NULL;
        }
        r.len = len - 8; /* the checksum is not part of the body */
    }
    r.off = 8;
    st = rep_state_new();
    if (!st)
        goto bad;
    uint32_t n = r_count(&r, 4);
    if (n && !(st->tenants = calloc(n, sizeof *st->tenants)))
        goto bad;
    st->captenants = n;
    for (; st->ntenants < n && !r.bad; st->ntenants++)
        st->tenants[st->ntenants] = r_str(&r);

    n = r_count(&r, 8);
    if (n && !(st->curs = calloc(n, sizeof *st->curs)))
        goto bad;
    st->capcurs = n;
    for (; st->ncurs < n && !r.bad; st->ncurs++) {
        char *code = r_str(&r);
        if (code && strlen(code) == 3)
            memcpy(st->curs[st->ncurs].code, code, 4);
        else
            r.bad = 1;
        free(code);
        st->curs[st->ncurs].exponent = (int)R32();
    }

    n = r_count(&r, 12);
    if (n && !(st->custs = calloc(n, sizeof *st->custs)))
        goto bad;
    st->capcusts = n;
    for (; st->ncusts < n && !r.bad; st->ncusts++) {
        rep_cust *c = &st->custs[st->ncusts];
        c->id = r_str(&r);
        c->name = r_str(&r);
        c->tenant = R32();
        c->gone_first = (int32_t)R32();
        c->gone_lastpay = (int32_t)R32();
        c->gone_broken = R32();
        uint32_t m = r_count(&r, 12);
        if (m > REP_GONE_PAID)
            r.bad = 1;
        if (m && !r.bad && !(c->gone_paid = calloc(REP_GONE_PAID, sizeof *c->gone_paid)))
            goto bad;
        for (; c->ngone_paid < m && !r.bad; c->ngone_paid++) {
            rep_paid *g = &c->gone_paid[c->ngone_paid];
            g->paid = (int32_t)R32();
            g->late = (int32_t)R32();
            if (!(g->id = r_str(&r)))
                r.bad = 1;
        }
    }

    n = r_count(&r, 40);
    if (n && !(st->invs = calloc(n, sizeof *st->invs)))
        goto bad;
    st->capinvs = n;
    for (; st->ninvs < n && !r.bad; st->ninvs++) {
        rep_inv *v = &st->invs[st->ninvs];
        v->id = r_str(&r);
        v->tenant = R32();
        v->cust = R32();
        v->cur = (uint16_t)R32();
        v->known = (uint8_t)R32();
        v->close_kind = (uint8_t)R32();
        v->issued = (int32_t)R32();
        v->due = (int32_t)R32();
        v->close_day = (int32_t)R32();
        v->amount = (int64_t)R64();
        uint32_t m = r_count(&r, 28);
        if (m && !(v->moves = calloc(m, sizeof *v->moves)))
            goto bad;
        v->capmoves = m;
        for (; v->nmoves < m && !r.bad; v->nmoves++) {
            rep_move *mv = &v->moves[v->nmoves];
            mv->amount = (int64_t)R64();
            mv->at_ms = (int64_t)R64();
            mv->day = (int32_t)R32();
            mv->ref = R32();
            mv->kind = (uint8_t)R32();
        }
        m = r_count(&r, 4);
        if (m && !(v->contacts = calloc(m, sizeof *v->contacts)))
            goto bad;
        v->capcontacts = m;
        for (; v->ncontacts < m && !r.bad; v->ncontacts++)
            v->contacts[v->ncontacts] = R32();
        if (v->tenant >= st->ntenants || v->cust >= st->ncusts || (v->known && v->cur >= st->ncurs))
            r.bad = 1;
    }

    n = r_count(&r, 40);
    if (n && !(st->pays = calloc(n, sizeof *st->pays)))
        goto bad;
    st->cappays = n;
    for (; st->npays < n && !r.bad; st->npays++) {
        rep_pay *p = &st->pays[st->npays];
        p->tenant = R32();
        p->cust = R32();
        p->cur = (uint16_t)R32();
        p->day = (int32_t)R32();
        p->reversed_day = (int32_t)R32();
        p->at_ms = (int64_t)R64();
        p->amount = (int64_t)R64();
        uint32_t m = r_count(&r, 12);
        if (m && !(p->allocs = calloc(m, sizeof *p->allocs)))
            goto bad;
        for (; p->nallocs < m && !r.bad; p->nallocs++) {
            p->allocs[p->nallocs].inv = R32();
            p->allocs[p->nallocs].amount = (int64_t)R64();
        }
    }

    n = r_count(&r, 52);
    if (n && !(st->proms = calloc(n, sizeof *st->proms)))
        goto bad;
    st->capproms = n;
    for (; st->nproms < n && !r.bad; st->nproms++) {
        rep_promise *p = &st->proms[st->nproms];
        p->tenant = R32();
        p->cust = R32();
        p->cur = (uint16_t)R32();
        p->made = (uint8_t)R32();
        p->outcome = (uint8_t)R32();
        p->made_day = (int32_t)R32();
        p->promised_on = (int32_t)R32();
        p->outcome_day = (int32_t)R32();
        p->made_ms = (int64_t)R64();
        p->amount = (int64_t)R64();
        uint32_t m = r_count(&r, 4);
        if (m && !(p->invs = calloc(m, sizeof *p->invs)))
            goto bad;
        for (; p->ninvs < m && !r.bad; p->ninvs++)
            p->invs[p->ninvs] = R32();
    }

    n = r_count(&r, 24);
    if (n && !(st->groups = calloc(n, sizeof *st->groups)))
        goto bad;
    st->capgroups = n;
    for (; st->ngroups < n && !r.bad; st->ngroups++) {
        rep_group *g = &st->groups[st->ngroups];
        g->tenant = R32();
        g->strategy = r_str(&r);
        g->variant = r_str(&r);
        g->channel = r_str(&r);
        g->step = (int64_t)R64();
        g->gone_failed = (int64_t)R64();
        uint32_t m = r_count(&r, 8);
        if (m && !(g->gone_sent = calloc(m, sizeof *g->gone_sent)))
            goto bad;
        for (; g->ngone_sent < m && !r.bad; g->ngone_sent++)
            g->gone_sent[g->ngone_sent] = (int64_t)R64();
        g->gone_contacted = (int64_t)R64();
        g->gone_responded = (int64_t)R64();
        g->gone_invoices = (int64_t)R64();
        g->gone_paid = (int64_t)R64();
        m = r_count(&r, 8);
        if (m && !(g->gone_rec = calloc(m, sizeof *g->gone_rec)))
            goto bad;
        for (; g->ngone_rec < m && !r.bad; g->ngone_rec++)
            g->gone_rec[g->ngone_rec] = (int64_t)R64();
        m = r_count(&r, 12);
        if (m && !(g->gone_days = calloc(m, sizeof *g->gone_days)))
            goto bad;
        for (; g->ngone_days < m && !r.bad; g->ngone_days++) {
            g->gone_days[g->ngone_days].days = (int32_t)R32();
            g->gone_days[g->ngone_days].n = (int64_t)R64();
        }
        m = r_count(&r, 4);
        if (m && !(g->gone_curs = calloc(m, 1)))
            goto bad;
        for (; g->ngone_curs < m && !r.bad; g->ngone_curs++)
            g->gone_curs[g->ngone_curs] = (uint8_t)R32();
        if (!r.bad && (!g->strategy || !g->variant || !g->channel))
            r.bad = 1;
    }

    n = r_count(&r, 16);
    if (n && !(st->contacts = calloc(n, sizeof *st->contacts)))
        goto bad;
    st->capcontacts = n;
    for (; st->ncontacts < n && !r.bad; st->ncontacts++) {
        st->contacts[st->ncontacts].at_ms = (int64_t)R64();
        st->contacts[st->ncontacts].group = R32();
        uint32_t packed = R32();
        st->contacts[st->ncontacts].sent = (uint8_t)packed;
        st->contacts[st->ncontacts].gone_cur = (uint16_t)(packed >> 8);
    }

    n = r_count(&r, 36);
    if (n && !(st->money = calloc(n, sizeof *st->money)))
        goto bad;
    st->capmoney = n;
    for (; st->nmoney < n && !r.bad; st->nmoney++) {
        rep_money *m = &st->money[st->nmoney];
        m->tenant = R32();
        m->cur = (uint16_t)R32();
        m->kind = (uint8_t)R32();
        m->detail = (uint8_t)R32();
        m->day = (int32_t)R32();
        m->amount = (int64_t)R64();
        m->extra = (int64_t)R64();
    }

    n = r_count(&r, 24);
    if (n && !(st->cases = calloc(n, sizeof *st->cases)))
        goto bad;
    st->capcases = n;
    for (; st->ncases < n && !r.bad; st->ncases++) {
        rep_case *c = &st->cases[st->ncases];
        c->id = r_str(&r);
        c->tenant = R32();
        c->cur = (uint16_t)R32();
        c->placed = (uint8_t)R32();
        c->to = (uint8_t)R32();
        c->placed_day = (int32_t)R32();
    }

    n = r_count(&r, 36);
    if (n && !(st->escs = calloc(n, sizeof *st->escs)))
        goto bad;
    st->capescs = n;
    for (; st->nescs < n && !r.bad; st->nescs++) {
        rep_esc *f = &st->escs[st->nescs];
        f->tenant = R32();
        f->kase = R32();
        f->cur = (uint16_t)R32();
        f->kind = (uint8_t)R32();
        f->day = (int32_t)R32();
        f->amount = (int64_t)R64();
        f->extra = (int64_t)R64();
    }

    n = r_count(&r, 12);
    if (n && !(st->tmpls = calloc(n, sizeof *st->tmpls)))
        goto bad;
    st->captmpls = n;
    for (; st->ntmpls < n && !r.bad; st->ntmpls++) {
        rep_tmpl *t = &st->tmpls[st->ntmpls];
        t->tenant = R32();
        t->channel = (uint8_t)R32();
        t->name = r_str(&r);
        for (int k = 0; k <= REP_FB_REPLIED; k++)
            t->gone_n[k] = (int64_t)R64();
        t->gone_hard = (int64_t)R64();
    }
    n = r_count(&r, 24);
    if (n && !(st->fbs = calloc(n, sizeof *st->fbs)))
        goto bad;
    st->capfbs = n;
    for (; st->nfbs < n && !r.bad; st->nfbs++) {
        rep_fb *f = &st->fbs[st->nfbs];
        f->tenant = R32();
        f->cust = R32();
        f->tmpl = R32();
        uint32_t packed = R32();
        f->kind = (uint8_t)packed;
        f->channel = (uint8_t)(packed >> 8);
        f->hard = (uint8_t)(packed >> 16);
        f->at_ms = (int64_t)R64();
    }
    n = r_count(&r, 48);
    if (n && !(st->sales = calloc(n, sizeof *st->sales)))
        goto bad;
    st->capsales = n;
    for (; st->nsales < n && !r.bad; st->nsales++) {
        rep_sales *sa = &st->sales[st->nsales];
        sa->tenant = R32();
        sa->cur = (uint16_t)R32();
        sa->month = (int32_t)R32();
        sa->amount = (int64_t)R64();
        uint32_t flags = R32();
        sa->money = (uint8_t)(flags & 1);
        sa->esc = (uint8_t)((flags >> 8) & 1);
        sa->placed = (int64_t)R64();
        sa->remitted = (int64_t)R64();
        sa->commission = (int64_t)R64();
    }
    st->horizon = (int32_t)R32();
    n = r_count(&r, 8);
    if (n && !(st->gone_unattr = calloc(n, sizeof *st->gone_unattr)))
        goto bad;
    for (; st->ngone_unattr < n && !r.bad; st->ngone_unattr++)
        st->gone_unattr[st->ngone_unattr] = (int64_t)R64();

    cm_map *maps[] = {&st->tenant_ix, &st->cur_ix,   &st->inv_ix,  &st->cust_ix, &st->pay_ix,
                      &st->prom_ix,   &st->group_ix, &st->case_ix, &st->seen};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0] && !r.bad; i++) {
        uint64_t m = R64();
        if (m > len)
            r.bad = 1;
        for (uint64_t k = 0; k < m && !r.bad; k++) {
            uint32_t klen = r_u32(&r);
            if (r.bad || klen > r.len - r.off) {
                r.bad = 1;
                break;
            }
            const char *key = (const char *)r.p + r.off;
            r.off += klen;
            uint32_t val = R32();
            if (!r.bad && cm_map_put(maps[i], key, klen, val) < 0)
                goto bad;
        }
    }
    st->applied = R64();
    st->duplicates = R64();
    st->rejected = R64();
    n = R32();
    if (n > REP_MAX_PARTS)
        r.bad = 1;
    for (; st->offsets.n < (int)n && !r.bad; st->offsets.n++) {
        char *t = r_str(&r);
        if (!t || strlen(t) >= sizeof st->offsets.topic[0])
            r.bad = 1;
        else
            strcpy(st->offsets.topic[st->offsets.n], t);
        free(t);
        st->offsets.part[st->offsets.n] = (int32_t)R32();
        st->offsets.next[st->offsets.n] = (int64_t)R64();
    }
    if (r.bad || r.len - r.off != 4 || memcmp(r.p + r.off, "END1", 4))
        goto bad;
    /* validate references, rebuild customer invoice lists */
    for (uint32_t i = 0; i < st->ncusts; i++)
        if (!st->custs[i].id || st->custs[i].tenant >= st->ntenants)
            goto bad;
    for (uint32_t i = 0; i < st->npays; i++) {
        if (st->pays[i].cur >= st->ncurs)
            goto bad;
        for (uint32_t k = 0; k < st->pays[i].nallocs; k++)
            if (st->pays[i].allocs[k].inv >= st->ninvs)
                goto bad;
    }
    for (uint32_t i = 0; i < st->nproms; i++) {
        if (st->proms[i].cust >= st->ncusts || st->proms[i].cur >= st->ncurs)
            goto bad;
        for (uint32_t k = 0; k < st->proms[i].ninvs; k++)
            if (st->proms[i].invs[k] >= st->ninvs)
                goto bad;
    }
    for (uint32_t i = 0; i < st->ncontacts; i++)
        if (st->contacts[i].group >= st->ngroups || st->contacts[i].gone_cur > st->ncurs)
            goto bad;
    for (uint32_t i = 0; i < st->ngroups; i++)
        if (st->groups[i].ngone_sent > st->ncurs + 1 || st->groups[i].ngone_rec > st->ncurs ||
            st->groups[i].ngone_curs > st->ncurs)
            goto bad;
    for (uint32_t i = 0; i < st->nsales; i++)
        if (st->sales[i].tenant >= st->ntenants || st->sales[i].cur >= st->ncurs)
            goto bad;
    if (st->ngone_unattr > st->ntenants)
        goto bad;
    for (uint32_t i = 0; i < st->nmoney; i++)
        if (st->money[i].cur >= st->ncurs || st->money[i].kind < REP_MN_FEE_CHARGED ||
            st->money[i].kind > REP_MN_SETTLED)
            goto bad;
    for (uint32_t i = 0; i < st->ncases; i++)
        if (!st->cases[i].id || st->cases[i].tenant >= st->ntenants ||
            (st->cases[i].placed &&
             (st->cases[i].cur >= st->ncurs || st->cases[i].to >= CT_TO_COUNT)))
            goto bad;
    for (uint32_t i = 0; i < st->nescs; i++) {
        const rep_esc *f = &st->escs[i];
        int has_cur = f->kind == REP_ESC_PLACED || f->kind == REP_ESC_REMITTED;
        if (f->kase >= st->ncases || f->tenant != st->cases[f->kase].tenant ||
            f->kind < REP_ESC_PLACED || f->kind > REP_ESC_REMITTED ||
            (has_cur && f->cur >= st->ncurs))
            goto bad;
    }
    for (uint32_t i = 0; i < st->ntmpls; i++)
        if (!st->tmpls[i].name || st->tmpls[i].tenant >= st->ntenants)
            goto bad;
    for (uint32_t i = 0; i < st->nfbs; i++) {
        const rep_fb *f = &st->fbs[i];
        if (f->tenant >= st->ntenants || f->cust >= st->ncusts || f->kind < REP_FB_SENT ||
            f->kind > REP_FB_REPLIED ||
            (f->tmpl != REP_TMPL_NONE &&
             (f->tmpl >= st->ntmpls || st->tmpls[f->tmpl].tenant != f->tenant)))
            goto bad;
    }
    for (uint32_t i = 0; i < st->ninvs; i++) {
        rep_inv *v = &st->invs[i];
        if (!v->id)
            goto bad;
        for (uint32_t k = 0; k < v->nmoves; k++)
            if (v->moves[k].kind == REP_MV_PAY && v->moves[k].ref >= st->npays)
                goto bad;
        for (uint32_t k = 0; k < v->ncontacts; k++)
            if (v->contacts[k] >= st->ncontacts)
                goto bad;
        rep_cust *c = &st->custs[v->cust];
        if (REP_GROW(c->invs, c->capinvs, c->ninvs + 1) < 0)
            goto bad;
        c->invs[c->ninvs++] = i;
    }
    if (rep_state_reindex(st) < 0)
        goto bad;
    return st;
bad:
    snprintf(errstr, errlen, "snapshot: corrupt or truncated at byte %zu", r.off);
    rep_state_free(st);
    return NULL;
}
