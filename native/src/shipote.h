// shipote native addon: shared declarations.
//
// The surface is thin and positional (see adapters/linux/addon.ts for the typed view).
// Errors cross the boundary as plain `{ errno, syscall }` objects; the TypeScript side owns
// the error classes and the errno → PortReason mapping.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <sched.h>

#include <string>
#include <vector>

namespace shipote {

// A failure: the errno value and the name of the syscall (or step) that failed.
struct SysError {
  int err = 0;
  const char* syscall = "";
};

struct RlimitSetting {
  int resource;
  rlim_t soft;
  rlim_t hard;
};

// Everything the child needs, prepared in the parent before clone so the child does no
// allocation (it may share the parent's memory: CLONE_VM|CLONE_VFORK).
struct SpawnPlan {
  std::string exec;                  // resolved path (PATH lookup done in the parent)
  std::vector<std::string> argvStore;
  std::vector<std::string> envpStore;
  std::vector<char*> argv;           // NULL-terminated views into argvStore
  std::vector<char*> envp;           // NULL-terminated views into envpStore
  std::string cwd;                   // "" = inherit
  int stdio[3] = {-1, -1, -1};       // fds to install as 0, 1, 2 (already resolved)
  std::vector<RlimitSetting> rlimits;
  int nsFlags = 0;                   // CLONE_NEW* given to clone (cgroup ns is unshared later)
  bool newCgroupNs = false;          // unshare(CLONE_NEWCGROUP) after the cgroup join
  bool mountProc = false;            // with pid+mount ns: mount a fresh /proc
  bool loUp = false;                 // with net ns: bring `lo` up
  std::string uidMap;                // with user ns: written by the child to /proc/self/uid_map
  std::string gidMap;
  std::vector<std::string> cgroupProcs;  // cgroup.procs / tasks files to write "0" into
  int cgroupFd = -1;                 // v2 cgroup dir fd for clone3(CLONE_INTO_CGROUP)
  bool setsid = true;
  int pgid = -1;                     // -1: leave; 0: lead a new process group; >0: join it
  bool pdeathsig = true;
  // Ids to run as (-1: keep the daemon's): setgroups(0), setgid, setuid in the child.
  int64_t uid = -1;
  int64_t gid = -1;
  // Index in envp of "WATCHDOG_PID=" + kPidDigits placeholder bytes: the child writes its
  // own pid there (only the child knows it, in its own pid namespace). -1: none.
  int watchdogPidSlot = -1;
  // Soft RLIMIT_NOFILE read in the parent before the envelope may lower it: the
  // fd-by-fd close bound when close_range(2) is missing (kernels before 5.11).
  uint64_t fdLimit = 1024;
  bool forceCloseLoop = false;       // tests: take the fd-by-fd path even with close_range
  pid_t parentPid = 0;
  int errPipe = -1;                  // write end of the CLOEXEC error pipe (fork-like path)
  // The child's failure report on the CLONE_VM path: it shares our memory and we resume
  // only once it has exec'd or exited, so it writes here instead of through a pipe.
  int reportErr = 0;
  int reportStep = -1;
  // Gated (prepared) spawn: the child does all its setup, reports that it is ready through
  // `errPipe`, then waits on `gateFd` (an eventfd) before execve: 1 lets it exec.
  // `gateKeep` is our end of it (the same eventfd; the child has its own copy). On the
  // CLONE_VM path the child runs on `stack` (its own: it outlives the spawn call) and we do
  // not wait for it.
  bool gated = false;
  // Held: the CPUs the child may use once past its gate (ours); its setup is pinned to the
  // daemon's CPU (spawn.cc cloneGated). Empty: leave the affinity alone.
  cpu_set_t cpus;
  bool restoreCpus = false;
  int gateFd = -1;
  int gateKeep = -1;
  void* stack = nullptr;
};

// The size of a gated child's own stack (spawn.cc).
constexpr size_t kGatedStackBytes = 128 * 1024;

// A gated child's last word before its gate: the step code of "ready" in ChildReport.
constexpr int kStepReady = 1000;

struct SpawnResult {
  pid_t pid = -1;
  int pidfd = -1;
  int reportFd = -1;  // gated: the read end of the child's report pipe, for openGate
  SysError error;
};

// Field 22 of /proc/<pid>/stat (clock ticks after boot: with the pid, it names one process
// across pid reuse), or -1 when it cannot be read.
int64_t procStartTicks(pid_t pid);

// Digits reserved for WATCHDOG_PID's value (a pid is at most 4194304 = 7 digits).
constexpr int kPidDigits = 10;

// Resolves `file` against PATH (from envp, else the daemon's PATH) like execvp would.
SysError resolveExec(const std::string& file, const std::vector<std::string>& envp,
                     std::string* out);

// Spawns per the plan; on success the child has exec'd. Exec and setup failures are
// returned synchronously (the child's errno read from the CLOEXEC pipe), never as an exit.
SpawnResult spawnChild(SpawnPlan& plan);

// Opens the gate of a child spawned with `plan.gated`: it execs. Where the child can exec
// without touching our errno (x86-64: a raw syscall), this returns at once (`*waited`
// false) and the exec's outcome is read at the child's exit with gateReport; elsewhere it
// waits for the exec and returns its error. The plan and its stack stay the child's
// until its exec, so they are freed at its exit.
SysError openGate(SpawnPlan& plan, pid_t pid, int reportFd, bool* waited);

// At the exit of a child whose gate was opened: the error of its exec, or none (it ran).
SysError gateReport(int reportFd);

// What a held child's plan holds in the daemon (our end of its gate, its stack), released
// once the child has exec'd or is dead.
void releaseHeld(SpawnPlan& plan);

#if defined(__x86_64__)
constexpr bool kGateAsync = true;
#else
constexpr bool kGateAsync = false;
#endif

// Pump: moves bytes from sources to every sink with tee(2)/splice(2) in its own thread.
class Pump;
Pump* pumpStart(std::vector<int> sources, std::vector<int> sinks, uint64_t bytesPerSec,
                SysError* error);
void pumpStop(Pump* pump);  // signals, joins, frees; closes the fds it still owns
uint64_t pumpBytes(const Pump* pump);
bool pumpDone(const Pump* pump);

}  // namespace shipote
