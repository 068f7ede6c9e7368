// DataPilot's local Neo4j: an embedded Neo4j 5.26 LTS Community DBMS that serves Bolt on loopback.
// Built and started by infra/neo4j/index.ts (javac at setup; `java -cp classes:lib/*` at start).
//
// Usage: java -cp <classes>:<lib>/* Launcher <homeDir> <boltPort> <pluginDir> [--exit-on-stdin-eof]
//   homeDir    the DBMS home: store files under <homeDir>/data, logs under <homeDir>/logs (created when missing)
//   boltPort   TCP port of the Bolt connector, bound to 127.0.0.1 only
//   pluginDir  directory with the APOC core jar (and its dependencies); apoc.* is allowed and unrestricted
//   --exit-on-stdin-eof  shut down when standard input closes (the parent process died)
// Env: NEO4J_PASSWORD (default "datapilot-dev", at least 8 characters) becomes the password of user `neo4j`.
//
// Prints exactly one line "READY bolt://127.0.0.1:<port>" on stdout once Bolt accepts connections and the
// default database is available; errors go to stderr with "FAILED: " in front, and the exit code is 1.
// SIGTERM/SIGINT run a shutdown hook that stops the DBMS cleanly (checkpoint, store closed).

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Result;
import org.neo4j.graphdb.Transaction;

public final class Launcher {
  private static final String HOST = "127.0.0.1";
  private static final String USER = "neo4j";
  private static final String DEFAULT_PASSWORD = "datapilot-dev";
  private static final Duration DB_AVAILABLE_TIMEOUT = Duration.ofSeconds(120);

  private Launcher() {}

  public static void main(String[] args) {
    if (args.length < 3) {
      fail("usage: Launcher <homeDir> <boltPort> <pluginDir> [--exit-on-stdin-eof]", null);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    int port = parsePort(args[1]);
    Path plugins = Path.of(args[2]).toAbsolutePath();
    boolean exitOnStdinEof = args.length > 3 && "--exit-on-stdin-eof".equals(args[3]);
    String password = System.getenv().getOrDefault("NEO4J_PASSWORD", "");
    if (password.isEmpty()) password = DEFAULT_PASSWORD;
    if (password.length() < 8) fail("NEO4J_PASSWORD must have at least 8 characters (Neo4j's minimum)", null);
    if (!Files.isDirectory(plugins)) fail("plugin directory " + plugins + " does not exist (run setup)", null);

    DatabaseManagementService dbms;
    try {
      Files.createDirectories(home);
      dbms = new DatabaseManagementServiceBuilder(home)
          .setConfig(GraphDatabaseSettings.auth_enabled, true)
          .setConfig(GraphDatabaseSettings.plugin_dir, plugins)
          .setConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("apoc.*"))
          .setConfig(GraphDatabaseSettings.procedure_allowlist, List.of("apoc.*"))
          // Small footprint: a development store of a few thousand nodes.
          .setConfig(GraphDatabaseSettings.pagecache_memory, 128L * 1024 * 1024)
          .setConfig(BoltConnector.enabled, true)
          .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, port))
          .setConfig(BoltConnector.advertised_address, new SocketAddress(HOST, port))
          .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
          // Idle connections are already closed when the Bolt server stops; the default 5 s wait per connector
          // only makes SIGTERM slow.
          .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
          .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
          .setConfig(BoltConnectorInternalSettings.enable_local_connector, false)
          .setConfig(GraphDatabaseSettings.udc_enabled, false)
          .setConfig(HttpConnector.enabled, false)
          .setConfig(HttpsConnector.enabled, false)
          .build();
    } catch (Throwable t) {
      fail("could not start the DBMS in " + home + " with Bolt on " + HOST + ":" + port, t);
      return;
    }
    final DatabaseManagementService service = dbms;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.err.println("neo4j: shutting down");
      service.shutdown();
      System.err.println("neo4j: stopped");
    }, "neo4j-shutdown"));

    try {
      GraphDatabaseService db = service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
      if (!db.isAvailable(DB_AVAILABLE_TIMEOUT.toMillis())) {
        fail("the default database did not become available within " + DB_AVAILABLE_TIMEOUT.toSeconds() + " s", null);
      }
      setPassword(service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), password);
      waitForBolt(port);
    } catch (Throwable t) {
      fail("the DBMS started but is not usable", t);
    }
    System.out.println("READY bolt://" + HOST + ":" + port);
    System.out.flush();

    if (exitOnStdinEof) {
      Thread watcher = new Thread(() -> {
        try (InputStream in = System.in) {
          byte[] buf = new byte[256];
          while (in.read(buf) >= 0) {
            // discard
          }
        } catch (IOException ignored) {
          // treat a broken stdin like EOF
        }
        System.err.println("neo4j: standard input closed, exiting");
        System.exit(0);
      }, "stdin-watcher");
      watcher.setDaemon(true);
      watcher.start();
    }
    // The DBMS runs on its own threads; keep main alive until the JVM is told to exit.
    try {
      Thread.currentThread().join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Makes `password` the password of user neo4j and clears the "change required" flag that a new store
   * starts with (its initial password is "neo4j"). Embedded transactions run with full rights, so no login is
   * needed. Runs at every start, which makes NEO4J_PASSWORD authoritative; Neo4j refuses to "change" a
   * password to the value it already has, which here means there is nothing to do.
   */
  private static void setPassword(GraphDatabaseService system, String password) {
    boolean changeRequired;
    try (Transaction tx = system.beginTx();
        Result r = tx.execute("SHOW USERS YIELD user, passwordChangeRequired WHERE user = $u RETURN passwordChangeRequired",
            Map.of("u", USER))) {
      changeRequired = r.hasNext() && Boolean.TRUE.equals(r.next().get("passwordChangeRequired"));
      tx.commit();
    }
    try {
      system.executeTransactionally("ALTER USER neo4j SET PASSWORD $p CHANGE NOT REQUIRED", Map.of("p", password));
      System.err.println(changeRequired ? "neo4j: initial password set" : "neo4j: password updated from NEO4J_PASSWORD");
    } catch (RuntimeException e) {
      String msg = String.valueOf(e.getMessage());
      if (!changeRequired && msg.contains("Old password and new password cannot be the same")) return;
      throw e;
    }
  }

  /** Confirms that the Bolt port accepts TCP connections (the connector starts with the DBMS). */
  private static void waitForBolt(int port) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(HOST, port), 1000);
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) throw new IllegalStateException("Bolt is not listening on " + HOST + ":" + port, e);
        Thread.sleep(100);
      }
    }
  }

  private static int parsePort(String s) {
    try {
      int p = Integer.parseInt(s);
      if (p < 1 || p > 65535) throw new NumberFormatException();
      return p;
    } catch (NumberFormatException e) {
      fail("boltPort must be an integer in [1, 65535], got " + s, null);
      return -1;
    }
  }

  private static void fail(String msg, Throwable cause) {
    StringBuilder sb = new StringBuilder("FAILED: ").append(msg);
    for (Throwable t = cause; t != null; t = t.getCause()) sb.append(": ").append(t);
    System.err.println(sb);
    System.err.flush();
    System.exit(1);
  }
}
