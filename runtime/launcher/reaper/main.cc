// berth-init: the PID 1 of `berth run --init`, like Docker's tini. It runs
// the command as its child, forwards the signals it gets to that child (as
// tini does by default), reaps every zombie re-parented to it (orphans of
// the container's processes), and exits with the child's status (128+N if
// the child died of signal N).
//
// PID 1 in a pid namespace gets no default signal actions: a SIGTERM to it
// is ignored unless handled. Blocking the signals and reading them from
// sigwaitinfo makes every catchable signal reach the child instead.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

int status_to_exit_code(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

// Reap every exited child; returns the main child's exit code once it is
// among them, -1 otherwise.
int reap(pid_t main_child) {
  int code = -1;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return code;
    if (pid == main_child) code = status_to_exit_code(status);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "berth-init: usage: berth-init COMMAND [ARG...]\n");
    return 125;
  }
  sigset_t all, previous;
  sigfillset(&all);
  if (sigprocmask(SIG_SETMASK, &all, &previous) < 0) {
    fprintf(stderr, "berth-init: block signals: %s\n", strerror(errno));
    return 125;
  }
  // Not PID 1 (e.g. --pid host): still reap our orphans.
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 125;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    execvp(argv[1], argv + 1);
    int error = errno;
    fprintf(stderr, "berth-init: exec %s: %s\n", argv[1], strerror(error));
    _exit(error == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "berth-init: wait for signals: %s\n", strerror(errno));
      return 125;
    }
    if (sig == SIGCHLD) {
      int code = reap(child);
      if (code >= 0) return code;
      continue;
    }
    // SIGSTOP and SIGKILL never arrive here; everything else is the child's.
    if (kill(child, sig) < 0 && errno != ESRCH)
      fprintf(stderr, "berth-init: forward signal %d: %s\n", sig, strerror(errno));
  }
}
