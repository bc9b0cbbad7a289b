// Spawning a child with a resource envelope.
//
// Primitive: glibc clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) on a private stack, the same
// primitive posix_spawn uses: no page-table copy of the (large) Node heap, and the parent
// resumes only once the child has exec'd or exited (so its failure report is written into
// the shared SpawnPlan: no error pipe on this path). With a v2 cgroup dir fd we use
// clone3(CLONE_INTO_CGROUP) instead (fork-like, no CLONE_VM: the raw syscall cannot switch
// stacks), and fall back to the vfork path if the kernel refuses clone3.
//
// The child only makes async-signal-safe syscalls and touches no heap (everything is
// prepared in SpawnPlan). On failure it reports {errno, step} and _exit(127)s: through the
// shared plan (CLONE_VM), else through a CLOEXEC pipe where EOF means exec succeeded
// (libuv process.c).
//
// Children send no signal when they exit (exit_signal 0): the parent learns of exits from
// pidfds only, so no SIGCHLD handler of the runtime wakes up for our children, and they are
// never auto-reaped behind our back. Reaping them takes __WALL.

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "shipote.h"

namespace shipote {
namespace {

// Step names reported as `syscall` when the child fails; index = step code.
enum Step : int {
  kStepSetgroupsDeny,
  kStepUidMap,
  kStepGidMap,
  kStepSetsid,
  kStepPrctl,
  kStepParentGone,
  kStepSetpgid,
  kStepDup,
  kStepSetrlimit,
  kStepMountPrivate,
  kStepMountProc,
  kStepLoUp,
  kStepCgroupJoin,
  kStepUnshareCgroup,
  kStepDropGroups,
  kStepSetgid,
  kStepSetuid,
  kStepChdir,
  kStepCloseRange,
  kStepSigmask,
  kStepExecve,
  kStepCount,
};

const char* const kStepNames[kStepCount] = {
    "setgroups", "uid_map", "gid_map", "setsid", "prctl", "getppid", "setpgid", "dup2",
    "setrlimit",
    "mount", "mount", "ioctl", "cgroup.procs", "unshare", "setgroups", "setgid", "setuid",
    "chdir", "close_range",
    "sigprocmask", "execve",
};

struct ChildReport {
  int err;
  int step;
};

[[noreturn]] void childFail(const SpawnPlan* plan, int step, int err) {
  if (plan->errPipe < 0) {
    // CLONE_VM: the plan is the parent's memory, read once we have exited.
    SpawnPlan* shared = const_cast<SpawnPlan*>(plan);
    shared->reportErr = err;
    shared->reportStep = step;
    _exit(127);
  }
  ChildReport report{err, step};
  // A short write to a pipe is atomic (< PIPE_BUF); nothing to do if it fails.
  ssize_t ignored = write(plan->errPipe, &report, sizeof report);
  (void)ignored;
  _exit(127);
}

bool writeSmallFile(const char* path, const char* data, size_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = write(fd, data, len);
  int saved = errno;
  close(fd);
  errno = saved;
  return n == static_cast<ssize_t>(len);
}

void childUserNamespace(const SpawnPlan* plan) {
  // The child maps itself (like unshare(1) -r): a single line mapping the daemon's ids to
  // 0. setgroups must be denied before gid_map may be written without CAP_SETGID outside.
  if (!writeSmallFile("/proc/self/setgroups", "deny", 4) && errno != ENOENT) {
    childFail(plan, kStepSetgroupsDeny, errno);
  }
  if (!writeSmallFile("/proc/self/uid_map", plan->uidMap.data(), plan->uidMap.size())) {
    childFail(plan, kStepUidMap, errno);
  }
  if (!writeSmallFile("/proc/self/gid_map", plan->gidMap.data(), plan->gidMap.size())) {
    childFail(plan, kStepGidMap, errno);
  }
}

void childStdio(const SpawnPlan* plan) {
  int fds[3] = {plan->stdio[0], plan->stdio[1], plan->stdio[2]};
  // Move low fds that would be clobbered by an earlier dup2 out of the way first.
  for (int i = 0; i < 3; i++) {
    if (fds[i] < 3 && fds[i] != i) {
      fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
      if (fds[i] < 0) childFail(plan, kStepDup, errno);
    }
  }
  for (int i = 0; i < 3; i++) {
    if (fds[i] == i) {
      if (fcntl(i, F_SETFD, 0) < 0) childFail(plan, kStepDup, errno);
    } else if (dup2(fds[i], i) < 0) {
      childFail(plan, kStepDup, errno);
    }
  }
}

void childLoopbackUp(const SpawnPlan* plan) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) childFail(plan, kStepLoUp, errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) childFail(plan, kStepLoUp, errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) childFail(plan, kStepLoUp, errno);
  close(sock);
}

void childEnvelope(const SpawnPlan* plan) {
  for (const RlimitSetting& rl : plan->rlimits) {
    struct rlimit value = {rl.soft, rl.hard};
    if (setrlimit(rl.resource, &value) < 0) childFail(plan, kStepSetrlimit, errno);
  }
  if (plan->nsFlags & CLONE_NEWNS) {
    // Private propagation first so nothing we mount leaks back to the host.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
      childFail(plan, kStepMountPrivate, errno);
    }
    if (plan->mountProc &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      childFail(plan, kStepMountProc, errno);
    }
  }
  if ((plan->nsFlags & CLONE_NEWNET) && plan->loUp) childLoopbackUp(plan);
  // Cgroup join before exec (our addition to the libuv order). Writing "0" moves the
  // writer itself; on v1 every controller hierarchy has its own `tasks` file.
  for (const std::string& procs : plan->cgroupProcs) {
    if (!writeSmallFile(procs.c_str(), "0", 1)) childFail(plan, kStepCgroupJoin, errno);
  }
  // The cgroup namespace is unshared after the join so its root is the new cgroup.
  if (plan->newCgroupNs && unshare(CLONE_NEWCGROUP) < 0) {
    childFail(plan, kStepUnshareCgroup, errno);
  }
}

// Drops to the requested ids, in the only order that works: supplementary groups first
// (setgroups needs CAP_SETGID), then the gid, then the uid (after which nothing more may
// be dropped).
void childIds(const SpawnPlan* plan) {
  if (plan->uid < 0 && plan->gid < 0) return;
  if (setgroups(0, nullptr) < 0) childFail(plan, kStepDropGroups, errno);
  if (plan->gid >= 0 && setgid(static_cast<gid_t>(plan->gid)) < 0) {
    childFail(plan, kStepSetgid, errno);
  }
  if (plan->uid >= 0 && setuid(static_cast<uid_t>(plan->uid)) < 0) {
    childFail(plan, kStepSetuid, errno);
  }
}

// Writes the child's own pid into the WATCHDOG_PID placeholder (async-signal-safe: no
// allocation, no locale; the placeholder is this spawn's own buffer).
void childWatchdogPid(const SpawnPlan* plan) {
  if (plan->watchdogPidSlot < 0) return;
  char* value = plan->envp[static_cast<size_t>(plan->watchdogPidSlot)] + 13;  // "WATCHDOG_PID="
  char digits[kPidDigits];
  int n = 0;
  for (unsigned long v = static_cast<unsigned long>(getpid()); n == 0 || v > 0; v /= 10) {
    digits[n++] = static_cast<char>('0' + v % 10);
  }
  for (int i = 0; i < n; i++) value[i] = digits[n - 1 - i];
  value[n] = '\0';
}

// Every fd above 2 must not reach the program. close_range(2) marks them close-on-exec in
// one call; before Linux 5.11 (ENOSYS, or EINVAL for CLOSE_RANGE_CLOEXEC on 5.9/5.10) we
// close them one by one up to the soft RLIMIT_NOFILE the parent read (as node-pty does).
// The fork-like path's report pipe stays open: it is close-on-exec already.
void childCloseFds(const SpawnPlan* plan) {
  if (!plan->forceCloseLoop && close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  if (!plan->forceCloseLoop && errno != ENOSYS && errno != EINVAL) {
    childFail(plan, kStepCloseRange, errno);
  }
  for (uint64_t fd = 3; fd < plan->fdLimit; fd++) {
    if (static_cast<int>(fd) != plan->errPipe) close(static_cast<int>(fd));
  }
}

// A gated child may wait long at its gate (its worker's current task runs meanwhile): it
// must not hold the daemon's fds that long (a pipe's write end would keep its reader from
// EOF). So it closes every fd above 2 now, for real, except its gate and its report pipe
// (both close-on-exec).
void childCloseGated(const SpawnPlan* plan) {
  int lo = plan->gateFd < plan->errPipe ? plan->gateFd : plan->errPipe;
  int hi = plan->gateFd < plan->errPipe ? plan->errPipe : plan->gateFd;
  if (!plan->forceCloseLoop) {
    bool ok = (lo <= 3 || close_range(3, static_cast<unsigned>(lo - 1), 0) == 0) &&
              (hi <= lo + 1 ||
               close_range(static_cast<unsigned>(lo + 1), static_cast<unsigned>(hi - 1), 0) ==
                   0) &&
              close_range(static_cast<unsigned>(hi + 1), ~0U, 0) == 0;
    if (ok) return;
    if (errno != ENOSYS && errno != EINVAL) childFail(plan, kStepCloseRange, errno);
  }
  for (uint64_t fd = 3; fd < plan->fdLimit; fd++) {
    if (static_cast<int>(fd) != lo && static_cast<int>(fd) != hi) close(static_cast<int>(fd));
  }
}

// A syscall without glibc's wrapper: a gated child runs beside us in our memory, with our
// thread's errno (its TLS); once past its gate nothing of it may write there (x86-64, where
// `start` does not wait for the exec). Returns the kernel's value, -errno on failure.
long rawSyscall3(long nr, long a, long b, long c) {
#if defined(__x86_64__)
  long ret;
  asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
#else
  long ret = syscall(nr, a, b, c);  // the daemon waits for this child's exec here
  return ret < 0 ? -errno : ret;
#endif
}

// Tells the parent the child is ready, then waits for the gate (an eventfd): 1 execs,
// anything else ends the child before it ran anything of the task. A daemon that dies
// meanwhile takes it along (PR_SET_PDEATHSIG), else its next incarnation's sweep does.
void childAwaitGate(const SpawnPlan* plan) {
  ChildReport ready{0, kStepReady};
  if (write(plan->errPipe, &ready, sizeof ready) != static_cast<ssize_t>(sizeof ready)) {
    _exit(125);
  }
  // From the report on, the daemon runs beside it: raw syscalls only (rawSyscall3). Its
  // setup ran pinned to the daemon's CPU; from its gate on it may wake on any of the
  // daemon's CPUs, as the program will run.
  if (plan->restoreCpus) {
    rawSyscall3(SYS_sched_setaffinity, 0, sizeof plan->cpus,
                reinterpret_cast<long>(&plan->cpus));
  }
  uint64_t go = 0;
  long n;
  do {
    n = rawSyscall3(SYS_read, plan->gateFd, reinterpret_cast<long>(&go), sizeof go);
  } while (n == -EINTR);
  if (n != static_cast<long>(sizeof go) || go != 1) _exit(125);
  if (plan->restoreCpus) {  // woken away from the daemon's CPU (wakeElsewhere): all again
    rawSyscall3(SYS_sched_setaffinity, 0, sizeof plan->cpus,
                reinterpret_cast<long>(&plan->cpus));
  }
}

// Child order per STYLE native/3: dispositions, stdio, envelope, ids, cwd, close_range,
// signal mask, execve. The ids are dropped after the envelope (rlimits, mounts and the
// cgroup join need the daemon's privileges) and before chdir (checked as the new user).
int childMain(void* arg) {
  const SpawnPlan* plan = static_cast<const SpawnPlan*>(arg);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < 32; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // EINVAL for reserved numbers is fine
  }
  if (plan->nsFlags & CLONE_NEWUSER) childUserNamespace(plan);
  if (plan->setsid && setsid() < 0) childFail(plan, kStepSetsid, errno);
  if (plan->pgid >= 0 && setpgid(0, plan->pgid) < 0) childFail(plan, kStepSetpgid, errno);
  if (plan->pdeathsig) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) childFail(plan, kStepPrctl, errno);
    // Close the race: the parent may have died before prctl. In a new pid namespace
    // getppid() is 0 by definition, so the check only applies outside one.
    if (!(plan->nsFlags & CLONE_NEWPID) && getppid() != plan->parentPid) {
      childFail(plan, kStepParentGone, ESRCH);
    }
  }
  childStdio(plan);
  childEnvelope(plan);
  childIds(plan);
  if (!plan->cwd.empty() && chdir(plan->cwd.c_str()) < 0) childFail(plan, kStepChdir, errno);
  if (plan->gated) {
    childCloseGated(plan);
  } else {
    childCloseFds(plan);
  }
  childWatchdogPid(plan);
  if (plan->gated) childAwaitGate(plan);
  sigset_t empty;
  sigemptyset(&empty);
  if (sigprocmask(SIG_SETMASK, &empty, nullptr) < 0) childFail(plan, kStepSigmask, errno);
  if (plan->gated) {
    long rc = rawSyscall3(SYS_execve, reinterpret_cast<long>(plan->exec.c_str()),
                          reinterpret_cast<long>(plan->argv.data()),
                          reinterpret_cast<long>(plan->envp.data()));
    childFail(plan, kStepExecve, static_cast<int>(-rc));
  }
  execve(plan->exec.c_str(), plan->argv.data(), plan->envp.data());
  childFail(plan, kStepExecve, errno);
}

// One stack per spawning thread, reused: with CLONE_VFORK the parent is suspended until
// the child has exec'd or exited, so the stack is free again when clone returns.
constexpr size_t kChildStackBytes = 256 * 1024;

void* childStack() {
  thread_local void* stack = nullptr;
  if (stack == nullptr) {
    void* mem = mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED) return nullptr;
    stack = mem;
  }
  return static_cast<char*>(stack) + kChildStackBytes;
}

// Returns the pid (>0), or -errno. Sets *pidfd.
pid_t cloneVfork(SpawnPlan& plan, int* pidfd) {
  void* top = childStack();
  if (top == nullptr) return -ENOMEM;
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | plan.nsFlags;  // exit signal: none
  pid_t pid = clone(childMain, top, flags, &plan, pidfd);
  return pid < 0 ? -errno : pid;
}

// Gated: the child runs on its own stack and we go on at once (no CLONE_VFORK); it waits at
// its gate, in our memory, until openGate lets it exec.
pid_t cloneGated(SpawnPlan& plan, int* pidfd) {
  void* mem = mmap(nullptr, kGatedStackBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) return -ENOMEM;
  plan.stack = mem;
  int flags = CLONE_VM | CLONE_PIDFD | plan.nsFlags;  // exit signal: none
  plan.restoreCpus = sched_getaffinity(0, sizeof plan.cpus, &plan.cpus) == 0;
  pid_t pid = clone(childMain, static_cast<char*>(mem) + kGatedStackBytes, flags, &plan, pidfd);
  if (pid < 0) {
    int err = errno;
    munmap(mem, kGatedStackBytes);
    plan.stack = nullptr;
    return -err;
  }
  // We now wait for its setup, so this CPU is free for it: the scheduler may have queued
  // it behind the running task on the other one. Best effort.
  int cpu = sched_getcpu();
  if (plan.restoreCpus && cpu >= 0) {
    cpu_set_t here;
    CPU_ZERO(&here);
    CPU_SET(cpu, &here);
    sched_setaffinity(pid, sizeof here, &here);
  }
  return pid;
}

pid_t cloneIntoCgroup(SpawnPlan& plan, int* pidfd) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD | CLONE_INTO_CGROUP | static_cast<uint64_t>(plan.nsFlags);
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = 0;  // exits are seen through the pidfd only
  args.cgroup = static_cast<uint64_t>(plan.cgroupFd);
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) childMain(&plan);  // never returns
  return pid < 0 ? -errno : static_cast<pid_t>(pid);
}

// Reads the child's report on the fork-like clone3 path: blocks until a report or EOF
// (exec succeeded).
bool readChildReport(int fd, ChildReport* report) {
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno == EINTR) continue;
    ssize_t n = read(fd, report, sizeof *report);
    if (n < 0 && errno == EINTR) continue;
    return n == static_cast<ssize_t>(sizeof *report);
  }
}

// Reaps a child that reported a setup failure (it has _exit'ed or is about to).
void reapFailed(int pidfd) {
  siginfo_t info;
  for (;;) {
    int rc = waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | __WALL);
    if (rc == 0 || errno != EINTR) break;
  }
}

}  // namespace

int64_t procStartTicks(pid_t pid) {
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  char* p = strrchr(buf, ')');
  if (p == nullptr) return -1;
  p += 1;
  for (int field = 3; field <= 22; field++) {  // each field is preceded by one space
    if (*p != ' ') return -1;
    p += 1;
    if (field == 22) {
      char* end = nullptr;
      long long v = strtoll(p, &end, 10);
      return end == p ? -1 : static_cast<int64_t>(v);
    }
    while (*p != ' ' && *p != '\0') p += 1;
  }
  return -1;
}

SysError resolveExec(const std::string& file, const std::vector<std::string>& envp,
                     std::string* out) {
  if (file.empty()) return SysError{ENOENT, "execve"};
  if (file.find('/') != std::string::npos) {
    *out = file;
    return SysError{};
  }
  const char* path = nullptr;
  for (const std::string& kv : envp) {
    if (kv.compare(0, 5, "PATH=") == 0) path = kv.c_str() + 5;
  }
  if (path == nullptr) path = getenv("PATH");
  if (path == nullptr) path = "/usr/local/bin:/usr/bin:/bin";
  int firstErr = ENOENT;
  std::string dirs(path);
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + file;
    if (access(candidate.c_str(), X_OK) == 0) {
      *out = candidate;
      return SysError{};
    }
    if (errno == EACCES) firstErr = EACCES;
    start = end + 1;
  }
  return SysError{firstErr, "execve"};
}

// Clones with every signal blocked (no handler of the parent may run in the child before
// it resets the dispositions). Returns the pid or -errno; `*forked`: the fork-like path.
pid_t cloneChild(SpawnPlan& plan, int* pidfd, bool* forked) {
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = -ENOSYS;
  *forked = false;
  if (plan.cgroupFd >= 0) {
    pid = cloneIntoCgroup(plan, pidfd);
    *forked = pid > 0;
  }
  // No cgroup fd, or a kernel without clone3/CLONE_INTO_CGROUP: join in the child instead.
  if (plan.cgroupFd < 0 || pid == -ENOSYS || pid == -E2BIG || pid == -EINVAL ||
      pid == -EOPNOTSUPP) {
    if (plan.gated) {
      pid = cloneGated(plan, pidfd);
    } else {
      int errPipe = plan.errPipe;
      plan.errPipe = -1;  // CLONE_VM: the report goes into the plan
      pid = cloneVfork(plan, pidfd);
      plan.errPipe = errPipe;
    }
  }
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return pid;
}

// The report pipe (every path but the plain CLONE_VM one) and, gated, the gate.
static bool openPipes(SpawnPlan& plan, int errPipe[2], SysError* error) {
  bool wantReport = plan.cgroupFd >= 0 || plan.gated;
  if (wantReport && pipe2(errPipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    *error = SysError{errno, "pipe2"};
    return false;
  }
  if (!plan.gated) return true;
  // An eventfd, not a pipe: a pipe's write wakes its reader as a "sync" wakeup (the hint
  // that the waker is about to sleep), which queues the child behind the daemon's own work
  // on the daemon's CPU; an eventfd's lets the scheduler start it on an idle CPU at once.
  int gate = eventfd(0, EFD_CLOEXEC);
  if (gate < 0) {
    *error = SysError{errno, "eventfd"};
    close(errPipe[0]);
    close(errPipe[1]);
    return false;
  }
  plan.gateFd = gate;  // the child's copy has the same number
  plan.gateKeep = gate;
  return true;
}

void releaseHeld(SpawnPlan& plan) {
  if (plan.gateKeep >= 0) close(plan.gateKeep);
  plan.gateFd = -1;
  plan.gateKeep = -1;
  if (plan.stack != nullptr) munmap(plan.stack, kGatedStackBytes);
  plan.stack = nullptr;
}

static SysError reportError(const ChildReport& report) {
  int step = report.step >= 0 && report.step < kStepCount ? report.step : kStepExecve;
  return SysError{report.err, kStepNames[step]};
}

SpawnResult spawnChild(SpawnPlan& plan) {
  SpawnResult result;
  int errPipe[2] = {-1, -1};
  if (!openPipes(plan, errPipe, &result.error)) return result;
  plan.errPipe = errPipe[1];
  plan.parentPid = getpid();
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    plan.fdLimit = nofile.rlim_cur;
  }
  plan.reportErr = 0;
  plan.reportStep = -1;
  int pidfd = -1;
  bool forked = false;
  pid_t pid = cloneChild(plan, &pidfd, &forked);
  // A gated child on the CLONE_VM path reads the plan while it runs: it is left as it is.
  if (errPipe[1] >= 0) close(errPipe[1]);
  if (!plan.gated) plan.errPipe = -1;

  if (pid < 0) {
    if (errPipe[0] >= 0) close(errPipe[0]);
    releaseHeld(plan);  // cloneGated unmapped its stack already
    result.error = SysError{-pid, "clone"};
    return result;
  }
  ChildReport report{plan.reportErr, plan.reportStep};
  bool failed = plan.reportStep >= 0;
  if (forked || plan.gated) {
    bool got = readChildReport(errPipe[0], &report);
    // Gated: "ready" is the report we wait for; EOF without it means the child died.
    failed = plan.gated ? !(got && report.step == kStepReady) : got;
    if (plan.gated && !got) report = ChildReport{ECHILD, kStepExecve};
  }
  if (failed || !plan.gated) {
    if (errPipe[0] >= 0) close(errPipe[0]);
    errPipe[0] = -1;
  }
  if (failed) {
    reapFailed(pidfd);
    close(pidfd);
    releaseHeld(plan);
    result.error = reportError(report);
    return result;
  }
  result.pid = pid;
  result.pidfd = pidfd;
  result.reportFd = errPipe[0];
  return result;
}

// Where the daemon has another CPU, the child is woken on one of those: woken on the
// daemon's own CPU it may preempt the daemon inside the gate's write (a sleeper's wakeup
// wins), and the daemon goes on only once the task has run (under load the write took
// 570 µs at p90; 16 µs with this). It takes the daemon's CPUs back past its gate.
static void wakeElsewhere(const SpawnPlan& plan, pid_t pid) {
  int cpu = sched_getcpu();
  if (!plan.restoreCpus || cpu < 0 || !CPU_ISSET(cpu, &plan.cpus) || CPU_COUNT(&plan.cpus) < 2) {
    return;
  }
  cpu_set_t others = plan.cpus;
  CPU_CLR(cpu, &others);
  sched_setaffinity(pid, sizeof others, &others);  // best effort
}

SysError openGate(SpawnPlan& plan, pid_t pid, int reportFd, bool* waited) {
  wakeElsewhere(plan, pid);
  SysError error;
  const uint64_t go = 1;
  ssize_t n;
  do {
    n = write(plan.gateKeep, &go, sizeof go);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof go)) error = SysError{errno, "write"};
  close(plan.gateKeep);
  plan.gateKeep = -1;
  *waited = !kGateAsync || error.err != 0;
  if (!*waited) return error;  // its exec's outcome comes with its exit (gateReport)
  ChildReport report{0, -1};
  // EOF: the exec closed the report pipe. A report: the exec failed (the child _exits).
  if (readChildReport(reportFd, &report) && error.err == 0) error = reportError(report);
  return error;
}

SysError gateReport(int reportFd) {
  ChildReport report{0, -1};
  ssize_t n = read(reportFd, &report, sizeof report);  // non-blocking: the child is gone
  if (n != static_cast<ssize_t>(sizeof report)) return SysError{};
  return reportError(report);
}

}  // namespace shipote
