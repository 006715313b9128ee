/* faass-forward SOCKET PORT: the way into a container service's own network (network=none).
 *
 * Runs as the entrypoint of a sidecar container that shares the app container's network
 * namespace (docker/container-spec.ts forwarderSpec): it waits until the app accepts connections
 * on 127.0.0.1:PORT, then listens on the unix socket SOCKET (in a directory bound in from the
 * host, the service's runtime directory) and copies each connection to a fresh one to the app,
 * both ways. A unix socket in the file system crosses network namespaces; a TCP port does not.
 *
 * It must run in any image (scratch, busybox, distroless), so it is built static and uses
 * nothing but the kernel: no resolver, no allocation. A process per direction of each
 * connection (fork): each is a plain blocking read/write loop, so one direction can never wait
 * on the other (an app streaming its answer while the request still arrives), and what one
 * connection does never holds up another. Half-close is passed on: EOF from one side becomes
 * shutdown(SHUT_WR) on the other (an HTTP/1.0 client, or a request body ended by its writer).
 *
 * Listening only once the app accepts is its readiness signal: faass-app (container-app.ts)
 * waits for the socket to accept, as it waits for a process app's port. It enforces the
 * readiness timeout; this program waits as long as it lives.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in app;

static int die(const char *what) {
  fprintf(stderr, "faass-forward: %s: %s\n", what, strerror(errno));
  return 1;
}

static int connect_app(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&app, sizeof app) < 0) {
    close(s);
    return -1;
  }
  /* Requests are written as they arrive, often in pieces: Nagle would hold a piece back
     until the previous one is acknowledged (up to 40 ms with delayed acks). */
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

/* Copies from -> to until EOF or an error. On EOF the writer side of `to` is shut (half-close);
   on an error both ends are shut, which ends the other direction's loop too. */
static void copy(int from, int to) {
  static char buf[16384]; /* one per process: each direction is a process of its own */
  for (;;) {
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      shutdown(to, SHUT_WR);
      return;
    }
    if (n < 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(to, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) goto failed;
      off += w;
    }
  }
failed:
  shutdown(to, SHUT_RDWR);
  shutdown(from, SHUT_RDWR);
}

/* One connection: this process copies client -> app, a child copies app -> client. A client
   whose app cannot be reached is closed: the proxy in front closes its side, and the gateway
   answers 502. */
static void serve(int client) {
  int a = connect_app();
  if (a < 0) _exit(0);
  pid_t back = fork();
  if (back == 0) {
    copy(a, client);
    _exit(0);
  }
  copy(client, a);
  if (back > 0) waitpid(back, NULL, 0);
  _exit(0);
}

/* Polls the app's port: every 5 ms for the first second (a refused loopback connect costs
   microseconds, and each poll saved is start-up latency), every 25 ms after that. */
static void wait_for_app(void) {
  for (int tries = 0;; tries++) {
    int s = connect_app();
    if (s >= 0) {
      close(s);
      return;
    }
    struct timespec pause = {0, (tries < 200 ? 5 : 25) * 1000000L};
    nanosleep(&pause, NULL);
  }
}

static void on_term(int sig) {
  (void)sig;
  _exit(0); /* PID 1 of its container: the kernel ends the connections' processes with it */
}

int main(int argc, char **argv) {
  char *end;
  long port = argc == 3 ? strtol(argv[2], &end, 10) : 0;
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (argc != 3 || *end || port < 1 || port > 65535 || strlen(argv[1]) >= sizeof sun.sun_path) {
    fprintf(stderr, "Usage: faass-forward SOCKET PORT\n");
    return 2;
  }
  strcpy(sun.sun_path, argv[1]);
  app.sin_family = AF_INET;
  app.sin_port = htons((unsigned short)port);
  app.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  /* PID 1 ignores signals it has no handler for: without these, a stop would wait out the
     engine's grace time. SIGPIPE: a peer gone is seen as a failed write. Children are reaped by
     the kernel (SA_NOCLDWAIT): nothing waits for them here. */
  struct sigaction term = {.sa_handler = on_term}, pipe = {.sa_handler = SIG_IGN}, chld = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGINT, &term, NULL);
  sigaction(SIGPIPE, &pipe, NULL);
  sigaction(SIGCHLD, &chld, NULL);

  wait_for_app();
  umask(077); /* the socket is the owner's alone: the directory is too, this is belt and braces */
  unlink(sun.sun_path); /* one left by a forwarder that was killed */
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) return die("socket");
  if (bind(l, (struct sockaddr *)&sun, sizeof sun) < 0) return die(argv[1]);
  if (listen(l, SOMAXCONN) < 0) return die("listen");
  for (;;) {
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      /* Out of descriptors or processes (the container's pids limit): the waiting connection
         stays queued; try again shortly rather than spin. */
      struct timespec pause = {0, 10 * 1000000L};
      nanosleep(&pause, NULL);
      continue;
    }
    pid_t p = fork();
    if (p == 0) {
      close(l);
      serve(c);
    }
    /* fork failed (pids limit): the connection is closed, the proxy fails it, others go on. */
    close(c);
  }
}
