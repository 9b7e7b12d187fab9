// deploy/local/StackKafka.java -- JVM side of deploy/local/stack.
//
// One JVM does all the Kafka work of `stack up`, because JVM start-up is
// most of what makes a dev-box Kafka slow:
//
//   serve <server.properties> <cluster-id|random> <bootstrap> <partitions> <status-file> <topic>...
//       formats the KRaft log dir if it has no meta.properties yet
//       (kafka.tools.StorageTool, in process; with the SCRAM credential in
//       ARREARS_STACK_SCRAM when set), starts a thread that creates
//       the topics once the broker answers, then runs kafka.Kafka in the main
//       thread until SIGTERM. The thread writes "ok" (or "error: ...") to
//       <status-file> (atomically, via rename) when every topic exists and
//       every partition has a leader.
//
//   topics <bootstrap> <partitions> <topic>...
//       creates the topics that are missing (existing ones are left alone),
//       waits for partition leaders, exits 0 (or 1 with a message).
//
// deploy/local/stack compiles this file into the jar cache with the javac
// that every JDK/JRE image carries (java -m jdk.compiler/...).
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicExistsException;

public final class StackKafka {
  private static final long TOPIC_DEADLINE_MS = 120_000;

  public static void main(String[] a) throws Exception {
    if (a.length >= 6 && a[0].equals("serve")) {
      serve(a[1], a[2], a[3], Integer.parseInt(a[4]), Paths.get(a[5]),
          Arrays.asList(a).subList(6, a.length));
    } else if (a.length >= 3 && a[0].equals("topics")) {
      try {
        createTopics(a[1], Integer.parseInt(a[2]), Arrays.asList(a).subList(3, a.length));
      } catch (Exception e) {
        System.err.println("stack: topics: " + e);
        System.exit(1);
      }
      System.exit(0);
    } else {
      System.err.println("usage: StackKafka serve <props> <cluster-id> <bootstrap> <partitions> <status-file> <topic>...\n"
          + "       StackKafka topics <bootstrap> <partitions> <topic>...");
      System.exit(2);
    }
  }

  private static void serve(String props, String clusterId, String bootstrap, int partitions,
      Path status, List<String> topics) throws Exception {
    Files.deleteIfExists(status);
    Properties p = new Properties();
    try (var r = Files.newBufferedReader(Paths.get(props))) {
      p.load(r);
    }
    Path logDir = Paths.get(p.getProperty("log.dirs").split(",")[0]);
    if (!Files.exists(logDir.resolve("meta.properties"))) {
      if (clusterId.equals("random")) {
        clusterId = org.apache.kafka.common.Uuid.randomUuid().toString();
      }
      System.err.println("stack: formatting " + logDir + " (cluster id " + clusterId + ")");
      List<String> fmt = new ArrayList<>(Arrays.asList("format", "-t", clusterId, "-c", props));
      // `stack up --secure`: the SCRAM user, written into the metadata log
      // at format time (KIP-900), e.g. SCRAM-SHA-512=[name=arrears,password=...]
      String scram = System.getenv("ARREARS_STACK_SCRAM");
      if (scram != null && !scram.isEmpty()) {
        fmt.add("--add-scram");
        fmt.add(scram);
      }
      int rc = kafka.tools.StorageTool.execute(
          fmt.toArray(new String[0]), new PrintStream(System.err, true));
      if (rc != 0) {
        writeStatus(status, "error: kafka-storage format exited " + rc);
        System.exit(rc);
      }
    }
    Thread t = new Thread(() -> {
      String result;
      try {
        createTopics(bootstrap, partitions, topics);
        result = "ok";
      } catch (Exception e) {
        result = "error: " + e;
      }
      try {
        writeStatus(status, result);
      } catch (Exception e) {
        System.err.println("stack: cannot write " + status + ": " + e);
      }
    }, "arrears-topics");
    t.setDaemon(true);
    t.start();
    kafka.Kafka.main(new String[] {props});
  }

  private static void writeStatus(Path status, String text) throws Exception {
    Path tmp = status.resolveSibling(status.getFileName() + ".tmp");
    Files.write(tmp, (text + "\n").getBytes(StandardCharsets.UTF_8));
    Files.move(tmp, status, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  // Creates the missing topics; retries while the broker is still starting
  // (not reachable, or not yet registered with the controller).
  static void createTopics(String bootstrap, int partitions, List<String> topics) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "arrears-stack");
    p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    long deadline = System.currentTimeMillis() + TOPIC_DEADLINE_MS;
    try (Admin admin = Admin.create(p)) {
      Set<String> pending = new HashSet<>(topics);
      while (!pending.isEmpty()) {
        List<NewTopic> req = new ArrayList<>();
        for (String name : pending) {
          req.add(new NewTopic(name, partitions, (short) 1));
        }
        Exception last = null;
        for (Map.Entry<String, KafkaFuture<Void>> e : admin.createTopics(req).values().entrySet()) {
          try {
            e.getValue().get(30, TimeUnit.SECONDS);
            System.err.println("stack: created topic " + e.getKey() + " (" + partitions + " partitions)");
            pending.remove(e.getKey());
          } catch (ExecutionException x) {
            Throwable c = x.getCause();
            if (c instanceof TopicExistsException) {
              pending.remove(e.getKey());
            } else if (c instanceof RetriableException || c instanceof InvalidReplicationFactorException) {
              last = (Exception) c; // broker not up or not registered yet
            } else {
              throw new Exception("creating " + e.getKey() + ": " + c, c);
            }
          }
        }
        if (!pending.isEmpty()) {
          if (System.currentTimeMillis() > deadline) {
            throw new Exception("gave up creating " + pending + ": " + last);
          }
          Thread.sleep(100);
        }
      }
      // Wait until every partition has a leader, so clients never see
      // LEADER_NOT_AVAILABLE right after `up`.
      while (true) {
        boolean ready = true;
        try {
          Map<String, TopicDescription> d = admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
          for (TopicDescription td : d.values()) {
            for (TopicPartitionInfo pi : td.partitions()) {
              if (pi.leader() == null || pi.leader().isEmpty()) {
                ready = false;
              }
            }
          }
        } catch (ExecutionException x) {
          if (!(x.getCause() instanceof RetriableException)) {
            throw x;
          }
          ready = false;
        }
        if (ready) {
          return;
        }
        if (System.currentTimeMillis() > deadline) {
          throw new Exception("partitions of " + topics + " have no leader yet");
        }
        Thread.sleep(100);
      }
    }
  }
}
