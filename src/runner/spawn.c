// faass-spawn.node: an exec function's process started by posix_spawn (issue 18). libuv (Node 20)
// starts a child with fork(): the kernel copies the runner's page tables, ~15 ms per call on a VM
// where that is dear; glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK) and copies none.
// The child gets what child_process.spawn(file, args, { cwd, env, detached: true, stdio: 'pipe' })
// gives it: stdio as three unix socket pairs (libuv's pipes), its own session and process group,
// every signal at its default and none blocked, the command searched in the PATH of the env it
// is given; and, unlike Node, no other descriptor of the runner (closefrom(3)).
// fast-spawn.ts wraps it; the runner falls back to Node's spawn without it.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

// libuv's default when the env has no PATH (_PATH_DEFPATH).
#define DEFAULT_PATH "/usr/bin:/bin"

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *file) {
  const char *name = strerrorname_np(err);
  char msg[512];
  snprintf(msg, sizeof msg, "%s %s %s", syscall, file, name ? name : strerror(err));
  napi_value code, message, error, num;
  napi_create_string_utf8(env, name ? name : "UNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_value sys;
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
  return NULL;
}

// A JS string as a malloc'd C string; NULL (and a pending exception) if it is not one.
static char *string_arg(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

// A JS string[] as a NULL-terminated, malloc'd char*[].
static char **string_array(napi_env env, napi_value v) {
  uint32_t n;
  if (napi_get_array_length(env, v, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of strings");
    return NULL;
  }
  char **out = calloc(n + 1, sizeof(char *));
  for (uint32_t i = 0; out && i < n; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    if (!(out[i] = string_arg(env, e))) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

static void free_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

// Whether path (relative ones from cwd, where the child will be) is a file the child may exec.
static int executable(const char *path, const char *cwd) {
  struct stat st;
  int dir = path[0] == '/' ? AT_FDCWD : open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir == -1) return errno;
  int err = 0;
  if (faccessat(dir, path, X_OK, AT_EACCESS) != 0) err = errno;
  else if (fstatat(dir, path, &st, 0) != 0) err = errno;
  else if (!S_ISREG(st.st_mode)) err = EACCES;
  if (dir != AT_FDCWD) close(dir);
  return err;
}

// execvp's search as libuv does it (uv__execvpe): the PATH of the child's env, not the runner's;
// EACCES if some match was not executable, else ENOENT. Done here, in the parent, so a miss costs
// a stat, not a child. Returns 0 and a malloc'd path in *out, or an errno.
static int resolve(const char *file, char **envp, const char *cwd, char **out) {
  if (strchr(file, '/')) return (*out = strdup(file)) ? 0 : ENOMEM;
  const char *path = DEFAULT_PATH;
  for (char **e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  int seen_eacces = 0;
  size_t flen = strlen(file);
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dlen = end - p;
    char *cand = malloc(dlen + flen + 3);
    if (!cand) return ENOMEM;
    // An empty entry is the current directory, as in execvp.
    snprintf(cand, dlen + flen + 3, "%.*s/%s", (int)(dlen ? dlen : 1), dlen ? p : ".", file);
    int err = executable(cand, cwd);
    if (err == 0) {
      *out = cand;
      return 0;
    }
    free(cand);
    if (err == EACCES) seen_eacces = 1;
    if (*end == '\0') break;
    p = end;
  }
  return seen_eacces ? EACCES : ENOENT;
}

// A socket pair, both ends close-on-exec and above 2, so the dup2s onto 0-2 cannot clobber one
// another even when the runner's own 0-2 are closed.
static int stdio_pair(int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return errno;
  for (int i = 0; i < 2; i++) {
    if (fds[i] > 2) continue;
    int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(fds[i]);
    fds[i] = fd;
    if (fd == -1) {
      close(fds[1 - i]);
      return err;
    }
  }
  return 0;
}

// Starts path; parent[i] is the runner's end of the child's fd i. Returns 0 or an errno.
static int start(const char *path, char **argv, char **envp, const char *cwd, pid_t *pid, int parent[3]) {
  int pairs[3][2];
  int made = 0, err = 0;
  for (; made < 3; made++)
    if ((err = stdio_pair(pairs[made]))) break;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (!err) {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    for (int i = 0; i < 3; i++) posix_spawn_file_actions_adddup2(&fa, pairs[i][1], i);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawn_file_actions_addchdir_np(&fa, cwd);
    // Node ignores SIGPIPE, and an ignored signal stays ignored across exec.
    sigset_t all, none;
    sigfillset(&all);
    // glibc's own signals (32, 33: cancellation, setxid), which sigfillset leaves out; else its
    // posix_spawn sets them to SIG_IGN in the child, and an ignored signal survives exec.
    for (int s = __SIGRTMIN; s < SIGRTMIN; s++) all.__val[(s - 1) / (8 * sizeof(unsigned long))] |= 1UL << ((s - 1) % (8 * sizeof(unsigned long)));
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    // Its own session and process group (detached: true): a timeout kills the group.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    err = posix_spawn(pid, path, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  for (int i = 0; i < made; i++) {
    close(pairs[i][1]);
    if (err) close(pairs[i][0]);
    else parent[i] = pairs[i][0];
  }
  return err;
}

// spawn(file, argv, env, cwd) -> { pid, stdin, stdout, stderr }; throws an Error with .code.
static napi_value Spawn(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, env, cwd)");
    return NULL;
  }
  char *file = string_arg(env, args[0]), *cwd = NULL, *path = NULL;
  char **argv = NULL, **envp = NULL;
  napi_value result = NULL;
  if (!file || !(argv = string_array(env, args[1])) || !(envp = string_array(env, args[2])) || !(cwd = string_arg(env, args[3]))) goto out;
  pid_t pid;
  int fds[3];
  int err = resolve(file, envp, cwd, &path);
  if (!err) err = start(path, argv, envp, cwd, &pid, fds);
  if (err) {
    throw_errno(env, err, "spawn", file);
    goto out;
  }
  napi_value v;
  napi_create_object(env, &result);
  napi_create_int32(env, pid, &v);
  napi_set_named_property(env, result, "pid", v);
  const char *names[3] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; i++) {
    napi_create_int32(env, fds[i], &v);
    napi_set_named_property(env, result, names[i], v);
  }
out:
  free(file);
  free(cwd);
  free(path);
  free_array(argv);
  free_array(envp);
  return result;
}

// reap(pid) -> null while it runs, else { code, signal } (signal a number; JS names it).
static napi_value Reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result, code, sig;
  int32_t pid;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, arg, &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "reap(pid)");
    return NULL;
  }
  int status;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG);
  while (r == -1 && errno == EINTR);
  if (r == -1) return throw_errno(env, errno, "waitpid", "");
  if (r == 0) {
    napi_get_null(env, &result);
    return result;
  }
  napi_create_object(env, &result);
  if (WIFSIGNALED(status)) {
    napi_get_null(env, &code);
    napi_create_int32(env, WTERMSIG(status), &sig);
  } else {
    napi_create_int32(env, WEXITSTATUS(status), &code);
    napi_get_null(env, &sig);
  }
  napi_set_named_property(env, result, "code", code);
  napi_set_named_property(env, result, "signal", sig);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  CHECK(napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, Spawn, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "spawn", fn));
  CHECK(napi_create_function(env, "reap", NAPI_AUTO_LENGTH, Reap, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "reap", fn));
  return exports;
}
