// shipote addon entry: per-environment state (Napi::Addon), argument checking, exit
// watching (pidfd in the libuv loop: uv_poll, no thread, no polling loop over children),
// sd_notify sockets and pump handles.

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

#include <napi.h>

#include "bucket.h"
#include "logfile.h"
#include "notify.h"
#include "shipote.h"

namespace shipote {
namespace {

const char* const kUsageSpawn = "Usage: spawn(exec, argv, envp, cwd, stdio, opts)";
// A stdio value: a pipe the addon creates and captures (see Addon::Spawn).
constexpr int64_t kCapture = -2;
// deliverReady() hands over at most this many exits per call (a bound on one call's work).
constexpr int kDeliverExitsMax = 64;

// What an argument must be; checkArgs compares the count and each kind in one place.
enum class Kind { Number, String, Function, Object, Array };

bool isKind(const Napi::Value& v, Kind kind) {
  switch (kind) {
    case Kind::Number: return v.IsNumber();
    case Kind::String: return v.IsString();
    case Kind::Function: return v.IsFunction();
    case Kind::Object: return v.IsObject();
    case Kind::Array: return v.IsArray();
  }
  return false;
}

// True when `info` holds exactly `kinds`; else throws TypeError(usage) and returns false.
bool checkArgs(const Napi::CallbackInfo& info, std::initializer_list<Kind> kinds,
               const char* usage) {
  bool ok = info.Length() == kinds.size();
  size_t i = 0;
  for (Kind kind : kinds) {
    if (!ok) break;
    ok = isKind(info[i++], kind);
  }
  if (!ok) Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
  return ok;
}

Napi::Object sysErrorObject(Napi::Env env, const SysError& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", Napi::Number::New(env, e.err));
  o.Set("syscall", Napi::String::New(env, e.syscall));
  return o;
}

bool readStrings(Napi::Value v, std::vector<std::string>* out) {
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value item = a.Get(i);
    if (!item.IsString()) return false;
    out->push_back(item.As<Napi::String>().Utf8Value());
  }
  return true;
}

bool readInts(Napi::Value v, std::vector<int64_t>* out) {
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value item = a.Get(i);
    if (!item.IsNumber()) return false;
    out->push_back(item.As<Napi::Number>().Int64Value());
  }
  return true;
}

bool optBool(Napi::Object o, const char* key, bool fallback, bool* ok) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) *ok = false;
  return v.ToBoolean().Value();
}

int64_t optInt(Napi::Object o, const char* key, int64_t fallback, bool* ok) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) {
    *ok = false;
    return fallback;
  }
  return v.As<Napi::Number>().Int64Value();
}

std::string optString(Napi::Object o, const char* key, bool* ok) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return "";
  if (!v.IsString()) *ok = false;
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}

// opts = { rlimits: [resource, soft, hard, …], nsFlags, newCgroupNs, mountProc, loUp,
//          uidMap, gidMap, cgroupProcs: string[], cgroupFd, setsid, pdeathsig, uid, gid,
//          watchdogPid, forceCloseLoop, gate }
bool readSpawnOpts(Napi::Object o, SpawnPlan* plan) {
  bool ok = true;
  std::vector<int64_t> rl;
  Napi::Value rlv = o.Get("rlimits");
  if (!rlv.IsUndefined() && (!readInts(rlv, &rl) || rl.size() % 3 != 0)) return false;
  for (size_t i = 0; i + 2 < rl.size(); i += 3) {
    auto limit = [](int64_t v) { return v < 0 ? RLIM_INFINITY : static_cast<rlim_t>(v); };
    plan->rlimits.push_back({static_cast<int>(rl[i]), limit(rl[i + 1]), limit(rl[i + 2])});
  }
  plan->nsFlags = static_cast<int>(optInt(o, "nsFlags", 0, &ok));
  plan->newCgroupNs = optBool(o, "newCgroupNs", false, &ok);
  plan->mountProc = optBool(o, "mountProc", false, &ok);
  plan->loUp = optBool(o, "loUp", false, &ok);
  plan->uidMap = optString(o, "uidMap", &ok);
  plan->gidMap = optString(o, "gidMap", &ok);
  Napi::Value cg = o.Get("cgroupProcs");
  if (!cg.IsUndefined() && !readStrings(cg, &plan->cgroupProcs)) return false;
  plan->cgroupFd = static_cast<int>(optInt(o, "cgroupFd", -1, &ok));
  plan->setsid = optBool(o, "setsid", true, &ok);
  plan->pgid = static_cast<int>(optInt(o, "pgid", -1, &ok));
  plan->pdeathsig = optBool(o, "pdeathsig", true, &ok);
  plan->uid = optInt(o, "uid", -1, &ok);
  plan->gid = optInt(o, "gid", -1, &ok);
  plan->forceCloseLoop = optBool(o, "forceCloseLoop", false, &ok);
  plan->gated = optBool(o, "gate", false, &ok);
  if (optBool(o, "watchdogPid", false, &ok)) {
    // The child writes its pid over the placeholder (spawn.cc childWatchdogPid).
    auto& env = plan->envpStore;
    env.erase(std::remove_if(env.begin(), env.end(),
                             [](const std::string& kv) {
                               return kv.compare(0, 13, "WATCHDOG_PID=") == 0;
                             }),
              env.end());
    plan->watchdogPidSlot = static_cast<int>(env.size());
    env.push_back("WATCHDOG_PID=" + std::string(kPidDigits, '0'));
  }
  const int allowed = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                      CLONE_NEWUTS | CLONE_NEWIPC;
  if (plan->nsFlags & ~allowed) ok = false;
  return ok;
}

void finishPlan(SpawnPlan* plan) {
  for (std::string& s : plan->argvStore) plan->argv.push_back(&s[0]);
  plan->argv.push_back(nullptr);
  for (std::string& s : plan->envpStore) plan->envp.push_back(&s[0]);
  plan->envp.push_back(nullptr);
}

}  // namespace

class Addon;

struct ExitWatch {
  uv_poll_t handle;
  Addon* addon;
  pid_t pid;
  int pidfd;
};

struct CaptureWatch {
  uv_poll_t handle;
  Addon* addon;
  uint32_t id;
  int fd;
};

struct NotifyWatch {
  uv_poll_t handle;
  Addon* addon;
  uint32_t id;
  int fd;
};

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    env_ = env;
    napi_get_uv_event_loop(env, &loop_);
    devNull_ = open("/dev/null", O_RDWR | O_CLOEXEC);
    DefineAddon(exports,
                {
                    InstanceMethod("init", &Addon::JsInit),
                    InstanceMethod("spawn", &Addon::Spawn),
                    InstanceMethod("openGate", &Addon::OpenGate),
                    InstanceMethod("kill", &Addon::Kill),
                    InstanceMethod("signal", &Addon::Signal),
                    InstanceMethod("pipe", &Addon::Pipe),
                    InstanceMethod("close", &Addon::Close),
                    InstanceMethod("dup", &Addon::Dup),
                    InstanceMethod("dupInheritable", &Addon::DupInheritable),
                    InstanceMethod("pumpStart", &Addon::PumpStart),
                    InstanceMethod("pumpStop", &Addon::PumpStop),
                    InstanceMethod("pumpBytes", &Addon::PumpBytes),
                    InstanceMethod("notifyOpen", &Addon::NotifyOpen),
                    InstanceMethod("captureOpen", &Addon::CaptureOpen),
                    InstanceMethod("captureClose", &Addon::CaptureClose),
                    InstanceMethod("notifyClose", &Addon::NotifyClose),
                    InstanceMethod("probe", &Addon::Probe),
                    InstanceMethod("becomeSubreaper", &Addon::BecomeSubreaper),
                    InstanceMethod("reapNow", &Addon::ReapNow),
                    InstanceMethod("deliverReady", &Addon::DeliverReady),
                    InstanceMethod("mallocTrim", &Addon::MallocTrim),
                    InstanceMethod("notifySend", &Addon::NotifySend),
                    InstanceMethod("lookupUser", &Addon::LookupUser),
                    InstanceMethod("lookupGroup", &Addon::LookupGroup),
                    InstanceMethod("bucketTrace", &Addon::BucketTrace),
                    InstanceMethod("logInit", &Addon::LogInit),
                    InstanceMethod("logOpen", &Addon::LogOpen),
                    InstanceMethod("logMeta", &Addon::LogMeta),
                    InstanceMethod("logClose", &Addon::LogClose),
                    InstanceMethod("logWatch", &Addon::LogWatch),
                    InstanceMethod("logBytes", &Addon::LogBytes),
                    InstanceMethod("logStartBytes", &Addon::LogStartBytes),
                    InstanceValue("constants", Constants(env), napi_enumerable),
                });
  }

  ~Addon() {
    closeLogWriter();
    for (auto& entry : pumps_) pumpStop(entry.second);
    for (auto& entry : exits_) closeExitWatch(entry.second);
    for (auto& entry : notifies_) closeNotifyWatch(entry.second);
    for (auto& entry : captures_) closeCaptureWatch(entry.second);
    if (reaper_ != nullptr) {
      uv_signal_stop(reaper_);
      uv_close(reinterpret_cast<uv_handle_t*>(reaper_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
    }
    if (eofCheck_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(eofCheck_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
    }
    if (devNull_ >= 0) close(devNull_);
    if (exitReady_ >= 0) close(exitReady_);
  }

  // Reaps the child through its pidfd and hands its exit to JS; false when it still runs.
  bool onExitReady(ExitWatch* w) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    // __WALL: our children send no exit signal (see spawn.cc).
    int rc = waitid(P_PIDFD, static_cast<id_t>(w->pidfd), &info, WEXITED | WNOHANG | __WALL);
    if (rc == 0 && info.si_pid == 0) return false;  // spurious wakeup: still running
    if (rc < 0 && errno == EINTR) return false;     // level-triggered: the poll fires again
    // A failed waitid is not an exit: it goes up as its errno with no code and no signal,
    // and the TypeScript side reports the status as unknown.
    int err = rc < 0 ? errno : 0;
    pid_t pid = w->pid;
    int code = -1;
    int signo = 0;
    if (rc == 0 && info.si_code == CLD_EXITED) {
      code = info.si_status;
    } else if (rc == 0) {
      signo = info.si_status;  // CLD_KILLED / CLD_DUMPED
    }
    exits_.erase(pid);
    closeExitWatch(w);
    // A gated child: dead at its gate (nothing ran), or started, when its exec may have
    // failed (the report it left).
    SysError execError;
    auto gated = gated_.find(pid);
    if (gated != gated_.end()) {
      if (gated->second.opened && gated->second.reportFd >= 0) {
        execError = gateReport(gated->second.reportFd);
      }
      forgetGated(gated);
    }
    // The exit closed the child's pipes before its pidfd turned readable: the writer thread
    // has often noted their EOF already. Those notes go first, so the exit does not wait
    // for their own turn of the loop (a worker's next task starts on an exit whose output
    // is all captured).
    onLogNotes();
    Napi::HandleScope scope{Napi::Env(env_)};
    Napi::Env env(env_);
    call(onExit_, {Napi::Number::New(env, pid), Napi::Number::New(env, code),
                   Napi::Number::New(env, signo), Napi::Number::New(env, err),
                   Napi::Number::New(env, execError.err),
                   Napi::String::New(env, execError.err != 0 ? execError.syscall : "")});
    return true;
  }

  // Reads what the pipe holds (bounded per wakeup, to stay fair to the loop) and hands
  // each chunk to JS; EOF or an error ends the capture with a null chunk.
  void onCaptureReady(CaptureWatch* w) {
    static thread_local char buf[64 * 1024];
    for (int i = 0; i < 16; i++) {
      ssize_t n = read(w->fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      uint32_t id = w->id;
      Napi::HandleScope scope{Napi::Env(env_)};
      if (n <= 0) {
        captures_.erase(id);
        closeCaptureWatch(w);
        deferEof(id);
        return;
      }
      Napi::Buffer<char> chunk = Napi::Buffer<char>::Copy(Napi::Env(env_), buf, n);
      call(onData_, {Napi::Number::New(Napi::Env(env_), id), chunk});
      if (captures_.count(id) == 0) return;  // closed by the listener
    }
  }

  // A child's exit closes its capture pipes just before its pidfd turns readable, so one
  // loop wakeup usually sees both. The EOFs are delivered after the poll phase (uv_check),
  // which puts the exit first: a restart does not wait behind two EOF callbacks.
  void deferEof(uint32_t id) {
    if (eofCheck_ == nullptr) {
      eofCheck_ = new uv_check_t();
      uv_check_init(loop_, eofCheck_);
      eofCheck_->data = this;
    }
    if (pendingEofs_.empty()) {
      // Active only while EOFs wait: a stopped handle does not keep the loop alive.
      uv_check_start(eofCheck_, [](uv_check_t* h) { static_cast<Addon*>(h->data)->flushEofs(); });
    }
    pendingEofs_.push_back(id);
  }

  void flushEofs() {
    std::vector<uint32_t> ids;
    ids.swap(pendingEofs_);
    uv_check_stop(eofCheck_);
    Napi::Env env(env_);
    Napi::HandleScope scope{env};
    for (uint32_t id : ids) call(onData_, {Napi::Number::New(env, id), env.Null()});
  }

  void onNotifyReady(NotifyWatch* w) {
    for (int i = 0; i < 64; i++) {
      NotifyMessage m;
      int rc = notifyRecv(w->fd, &m);
      if (rc <= 0) return;
      Napi::HandleScope scope{Napi::Env(env_)};
      Napi::Env env(env_);
      call(onNotify_, {Napi::Number::New(env, w->id), Napi::Number::New(env, m.pid),
                       Napi::String::New(env, m.message)});
      if (notifies_.count(w->id) == 0) return;  // closed by the listener
    }
  }

 private:
  static Napi::Object Constants(Napi::Env env) {
    Napi::Object c = Napi::Object::New(env);
    const std::pair<const char*, int> items[] = {
        {"CLONE_NEWUSER", CLONE_NEWUSER}, {"CLONE_NEWPID", CLONE_NEWPID},
        {"CLONE_NEWNS", CLONE_NEWNS},     {"CLONE_NEWNET", CLONE_NEWNET},
        {"CLONE_NEWUTS", CLONE_NEWUTS},   {"CLONE_NEWIPC", CLONE_NEWIPC},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_STACK", RLIMIT_STACK},   {"CLK_TCK", static_cast<int>(sysconf(_SC_CLK_TCK))},
    };
    for (const auto& item : items) c.Set(item.first, Napi::Number::New(env, item.second));
    return c;
  }

  void call(Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
    if (fn.IsEmpty()) return;
    Napi::Env env = Napi::Env(env_);
    fn.MakeCallback(env.Global(), args);
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  static void closeExitWatch(ExitWatch* w) {
    uv_poll_stop(&w->handle);
    close(w->pidfd);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle),
             [](uv_handle_t* h) { delete reinterpret_cast<ExitWatch*>(h); });
  }

  static void closeCaptureWatch(CaptureWatch* w) {
    uv_poll_stop(&w->handle);
    close(w->fd);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle),
             [](uv_handle_t* h) { delete reinterpret_cast<CaptureWatch*>(h); });
  }

  static void closeNotifyWatch(NotifyWatch* w) {
    uv_poll_stop(&w->handle);
    close(w->fd);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle),
             [](uv_handle_t* h) { delete reinterpret_cast<NotifyWatch*>(h); });
  }

  Napi::Value JsInit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Function, Kind::Function, Kind::Function},
                   "Usage: init(onExit, onNotify, onData)")) {
      return env.Undefined();
    }
    onExit_ = Napi::Persistent(info[0].As<Napi::Function>());
    onNotify_ = Napi::Persistent(info[1].As<Napi::Function>());
    onData_ = Napi::Persistent(info[2].As<Napi::Function>());
    return env.Undefined();
  }

  bool watchExit(pid_t pid, int pidfd) {
    ExitWatch* w = new ExitWatch();
    w->addon = this;
    w->pid = pid;
    w->pidfd = pidfd;
    if (uv_poll_init(loop_, &w->handle, pidfd) != 0) {
      delete w;
      return false;
    }
    w->handle.data = w;
    uv_poll_start(&w->handle, UV_READABLE, [](uv_poll_t* h, int, int) {
      ExitWatch* watch = static_cast<ExitWatch*>(h->data);
      watch->addon->onExitReady(watch);
    });
    exits_[pid] = w;
    // Also in a set of our own that deliverReady asks without waiting (the fd leaves it when
    // closed). Best effort: without it the exit still comes through the loop.
    if (exitReady_ < 0) exitReady_ = epoll_create1(EPOLL_CLOEXEC);
    if (exitReady_ >= 0) {
      epoll_event ev;
      memset(&ev, 0, sizeof ev);
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<uint32_t>(pid);
      epoll_ctl(exitReady_, EPOLL_CTL_ADD, pidfd, &ev);
    }
    return true;
  }

  // stdio: fd, -1 (/dev/null) or, for 1 and 2, kCapture: a pipe we create; its read end
  // comes back as `out`/`err` for the caller to hand on (the log writer's logOpen). Returns
  // false (errno set) if a pipe cannot be made; `r`/`w` hold the ends made so far.
  bool stdioPlan(const std::vector<int64_t>& stdio, int pipeBytes, SpawnPlan* plan, int r[3],
                 int w[3]) {
    for (int i = 0; i < 3; i++) {
      if (stdio[i] == kCapture && i > 0) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0) return false;
        if (pipeBytes > 0) fcntl(fds[1], F_SETPIPE_SZ, pipeBytes);  // best effort
        r[i] = fds[0];
        w[i] = fds[1];
        plan->stdio[i] = fds[1];
      } else {
        plan->stdio[i] = stdio[i] < 0 ? devNull_ : static_cast<int>(stdio[i]);
      }
    }
    return true;
  }

  Napi::Value Spawn(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    // On the heap: a gated child reads it after this call returned (until its exec).
    auto owned = std::make_unique<SpawnPlan>();
    SpawnPlan& plan = *owned;
    std::vector<int64_t> stdio;
    const std::initializer_list<Kind> kinds = {Kind::String, Kind::Array,  Kind::Array,
                                               Kind::String, Kind::Array, Kind::Object};
    if (!checkArgs(info, kinds, kUsageSpawn)) return env.Undefined();
    bool ok = readStrings(info[1], &plan.argvStore) &&
              readStrings(info[2], &plan.envpStore) && readInts(info[4], &stdio) &&
              stdio.size() == 3;
    if (ok) ok = readSpawnOpts(info[5].As<Napi::Object>(), &plan);
    int pipeBytes = ok ? static_cast<int>(optInt(info[5].As<Napi::Object>(), "pipeSizeBytes",
                                                 0, &ok))
                       : 0;
    if (!ok) {
      Napi::TypeError::New(env, kUsageSpawn).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string file = info[0].As<Napi::String>().Utf8Value();
    plan.cwd = info[3].As<Napi::String>().Utf8Value();
    SysError resolved = resolveExec(file, plan.envpStore, &plan.exec);
    if (resolved.err != 0) return sysErrorObject(env, resolved);
    plan.argvStore.insert(plan.argvStore.begin(), file);
    finishPlan(&plan);
    int r[3] = {-1, -1, -1}, w[3] = {-1, -1, -1};
    SysError failure;
    if (!stdioPlan(stdio, pipeBytes, &plan, r, w)) failure = SysError{errno, "pipe2"};
    SpawnResult child;
    if (failure.err == 0) child = spawnChild(plan);
    for (int fd : w) {
      if (fd >= 0) close(fd);  // the child holds its own copies
    }
    if (failure.err == 0) failure = child.error;
    if (failure.err == 0 && !watchExit(child.pid, child.pidfd)) {
      // Cannot watch it: do not leave an unsupervised child behind.
      syscall(SYS_pidfd_send_signal, child.pidfd, SIGKILL, nullptr, 0);
      siginfo_t si;
      waitid(P_PIDFD, static_cast<id_t>(child.pidfd), &si, WEXITED | __WALL);
      close(child.pidfd);
      if (plan.gated) {
        close(child.reportFd);
        releaseHeld(plan);
      }
      failure = SysError{ENOMEM, "uv_poll_init"};
    }
    if (failure.err != 0) {
      for (int fd : r) {
        if (fd >= 0) close(fd);
      }
      return sysErrorObject(env, failure);
    }
    if (plan.gated) gated_[child.pid] = Gated{std::move(owned), child.reportFd, false};
    Napi::Object o = Napi::Object::New(env);
    o.Set("pid", Napi::Number::New(env, child.pid));
    // Read here, not by the caller through fs: the child cannot have been reaped yet (its
    // exit is read in a later poll phase), so its /proc entry is there.
    o.Set("startTicks", Napi::Number::New(env, static_cast<double>(procStartTicks(child.pid))));
    o.Set("out", Napi::Number::New(env, r[1]));  // -1: not captured
    o.Set("err", Napi::Number::New(env, r[2]));
    return o;
  }

  // openGate(pid): the gated child `pid` execs now. 0, or the SysError of its exec where
  // we wait for it (see spawn.cc openGate); else a failed exec comes with its exit.
  Napi::Value OpenGate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: openGate(pid)")) return env.Undefined();
    pid_t pid = info[0].As<Napi::Number>().Int32Value();
    auto it = gated_.find(pid);
    if (it == gated_.end() || it->second.opened) {
      return sysErrorObject(env, SysError{ESRCH, "openGate"});
    }
    Gated& g = it->second;
    g.opened = true;
    bool waited = false;
    SysError error = openGate(*g.plan, pid, g.reportFd, &waited);
    if (waited) {
      close(g.reportFd);
      g.reportFd = -1;
    }
    if (error.err != 0) return sysErrorObject(env, error);  // freed once it is reaped
    if (waited) forgetGated(it);
    return Napi::Number::New(env, 0);
  }

  // kill(pid, signo): kill(2) as it is (a negative pid is a group), 0 or the errno. No
  // exception for ESRCH: probing a group with signal 0 is routine.
  Napi::Value Kill(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number, Kind::Number}, "Usage: kill(pid, signo)")) {
      return env.Undefined();
    }
    pid_t pid = info[0].As<Napi::Number>().Int32Value();
    int signo = info[1].As<Napi::Number>().Int32Value();
    return Napi::Number::New(env, kill(pid, signo) == 0 ? 0 : errno);
  }

  Napi::Value Signal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number, Kind::Number}, "Usage: signal(pid, signo)")) {
      return env.Undefined();
    }
    pid_t pid = info[0].As<Napi::Number>().Int32Value();
    int signo = info[1].As<Napi::Number>().Int32Value();
    auto it = exits_.find(pid);
    if (it == exits_.end()) return Napi::Number::New(env, ESRCH);  // not ours, or reaped
    // A leader of its own process group (a lone command, or node 0 of a pipeline) is
    // signalled with its whole group, so what it forked goes with it. No pid-reuse race:
    // the leader is not reaped yet (we hold its entry), so its pid still names this group.
    if (getpgid(pid) == pid && kill(-pid, signo) == 0) return Napi::Number::New(env, 0);
    long rc = syscall(SYS_pidfd_send_signal, it->second->pidfd, signo, nullptr, 0);
    return Napi::Number::New(env, rc == 0 ? 0 : errno);
  }

  Napi::Value Pipe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: pipe(sizeBytes)")) return env.Undefined();
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return sysErrorObject(env, SysError{errno, "pipe2"});
    int size = info[0].As<Napi::Number>().Int32Value();
    // Best effort: beyond /proc/sys/fs/pipe-max-size an unprivileged caller gets EPERM.
    if (size > 0) fcntl(fds[1], F_SETPIPE_SZ, size);
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, Napi::Number::New(env, fds[0]));
    a.Set(1u, Napi::Number::New(env, fds[1]));
    return a;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: close(fd)")) return env.Undefined();
    int fd = info[0].As<Napi::Number>().Int32Value();
    return Napi::Number::New(env, close(fd) == 0 ? 0 : errno);
  }

  Napi::Value Dup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: dup(fd)")) return env.Undefined();
    int fd = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return sysErrorObject(env, SysError{errno, "fcntl"});
    return Napi::Number::New(env, fd);
  }

  // Tests: an fd WITHOUT close-on-exec (what a careless library leaves behind), to check
  // that no spawn lets it reach the program.
  Napi::Value DupInheritable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: dupInheritable(fd)")) return env.Undefined();
    int fd = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD, 3);
    if (fd < 0) return sysErrorObject(env, SysError{errno, "fcntl"});
    return Napi::Number::New(env, fd);
  }

  Napi::Value PumpStart(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* usage = "Usage: pumpStart(sources, sinks, bytesPerSec)";
    std::vector<int64_t> sources, sinks;
    if (!checkArgs(info, {Kind::Array, Kind::Array, Kind::Number}, usage)) {
      return env.Undefined();
    }
    if (!readInts(info[0], &sources) || !readInts(info[1], &sinks) || sources.empty() ||
        sinks.empty()) {
      Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::vector<int> src(sources.begin(), sources.end());
    std::vector<int> dst(sinks.begin(), sinks.end());
    int64_t rate = info[2].As<Napi::Number>().Int64Value();
    SysError error;
    Pump* pump = pumpStart(src, dst, rate > 0 ? static_cast<uint64_t>(rate) : 0, &error);
    if (pump == nullptr) return sysErrorObject(env, error);
    uint32_t id = ++lastId_;
    pumps_[id] = pump;
    return Napi::Number::New(env, id);
  }

  Napi::Value PumpStop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: pumpStop(id)")) return env.Undefined();
    auto it = pumps_.find(info[0].As<Napi::Number>().Uint32Value());
    if (it != pumps_.end()) {
      pumpStop(it->second);
      pumps_.erase(it);
    }
    return env.Undefined();
  }

  Napi::Value PumpBytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: pumpBytes(id)")) return env.Undefined();
    auto it = pumps_.find(info[0].As<Napi::Number>().Uint32Value());
    if (it == pumps_.end()) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, static_cast<double>(pumpBytes(it->second)));
  }

  Napi::Value NotifyOpen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::String}, "Usage: notifyOpen(path)")) return env.Undefined();
    SysError error;
    int fd = notifyBind(info[0].As<Napi::String>().Utf8Value(), &error);
    if (fd < 0) return sysErrorObject(env, error);
    NotifyWatch* w = new NotifyWatch();
    w->addon = this;
    w->id = ++lastId_;
    w->fd = fd;
    if (uv_poll_init(loop_, &w->handle, fd) != 0) {
      close(fd);
      delete w;
      return sysErrorObject(env, SysError{ENOMEM, "uv_poll_init"});
    }
    w->handle.data = w;
    uv_poll_start(&w->handle, UV_READABLE, [](uv_poll_t* h, int, int) {
      NotifyWatch* watch = static_cast<NotifyWatch*>(h->data);
      watch->addon->onNotifyReady(watch);
    });
    notifies_[w->id] = w;
    return Napi::Number::New(env, w->id);
  }

  Napi::Value NotifyClose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: notifyClose(id)")) return env.Undefined();
    auto it = notifies_.find(info[0].As<Napi::Number>().Uint32Value());
    if (it != notifies_.end()) {
      closeNotifyWatch(it->second);
      notifies_.erase(it);
    }
    return env.Undefined();
  }

  // Takes ownership of `fd` (a pipe read end) and reports its bytes through onData.
  // Returns the capture id, or 0 (errno set; the fd is still the caller's).
  uint32_t startCapture(int fd) {
    CaptureWatch* w = new CaptureWatch();
    w->addon = this;
    w->id = ++lastId_;
    w->fd = fd;
    // uv_poll_init also puts the fd in non-blocking mode (the reads rely on it).
    int rc = uv_poll_init(loop_, &w->handle, fd);
    if (rc != 0) {
      delete w;
      errno = -rc;
      return 0;
    }
    w->handle.data = w;
    uv_poll_start(&w->handle, UV_READABLE | UV_DISCONNECT, [](uv_poll_t* h, int, int) {
      CaptureWatch* watch = static_cast<CaptureWatch*>(h->data);
      watch->addon->onCaptureReady(watch);
    });
    captures_[w->id] = w;
    return w->id;
  }

  Napi::Value CaptureOpen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: captureOpen(fd)")) return env.Undefined();
    uint32_t id = startCapture(info[0].As<Napi::Number>().Int32Value());
    if (id == 0) return sysErrorObject(env, SysError{errno, "captureOpen"});
    return Napi::Number::New(env, id);
  }

  Napi::Value CaptureClose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::Number}, "Usage: captureClose(id)")) return env.Undefined();
    auto it = captures_.find(info[0].As<Napi::Number>().Uint32Value());
    if (it != captures_.end()) {
      closeCaptureWatch(it->second);
      captures_.erase(it);
    }
    return env.Undefined();
  }

  // PR_SET_CHILD_SUBREAPER: orphaned descendants re-parent to us instead of to init. They
  // raise SIGCHLD when they die (the kernel resets a re-parented child's exit signal), and
  // a uv_signal watcher reaps them: no polling. Returns 0 or an errno.
  Napi::Value BecomeSubreaper(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {}, "Usage: becomeSubreaper()")) return env.Undefined();
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return Napi::Number::New(env, errno);
    if (reaper_ == nullptr) {
      reaper_ = new uv_signal_t();
      uv_signal_init(loop_, reaper_);
      reaper_->data = this;
      uv_signal_start(
          reaper_, [](uv_signal_t* h, int) { static_cast<Addon*>(h->data)->reapOrphans(); },
          SIGCHLD);
      uv_unref(reinterpret_cast<uv_handle_t*>(reaper_));  // does not keep the loop alive
    }
    reapOrphans();  // any that died before the watcher
    return Napi::Number::New(env, 0);
  }

  // mallocTrim(): hands the C heap's free pages back to the kernel (glibc's malloc_trim,
  // every arena). Start-up work and bursts of requests leave freed but resident memory
  // behind that no later allocation of an idle daemon reuses. true when something was given.
  Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {}, "Usage: mallocTrim()")) return env.Undefined();
#ifdef __GLIBC__
    return Napi::Boolean::New(env, malloc_trim(0) == 1);
#else
    return Napi::Boolean::New(env, false);  // no malloc_trim outside glibc
#endif
  }

  // reapNow(): reaps the orphans waiting now (the SIGCHLD watcher does this on its own);
  // returns how many were reaped since start. Container init reports it.
  Napi::Value ReapNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {}, "Usage: reapNow()")) return env.Undefined();
    reapOrphans();
    return Napi::Number::New(env, orphansReaped_);
  }

  // deliverReady(): delivers now what later turns of the loop would: the log writer's
  // pending notes, then the exits of watched children that have ended (their pidfds
  // readable in `exitReady_`, reaped through the pidfd as the poll would). A caller about
  // to spend the loop on other work (a control request) lets the supervisor answer its
  // children first: a worker's next task does not wait behind a burst of requests. Returns
  // how many exits it delivered. One epoll_wait when nothing is ready.
  Napi::Value DeliverReady(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {}, "Usage: deliverReady()")) return env.Undefined();
    onLogNotes();
    int delivered = 0;
    if (exitReady_ < 0 || exits_.empty()) return Napi::Number::New(env, delivered);
    epoll_event ready[kDeliverExitsMax];
    int n = epoll_wait(exitReady_, ready, kDeliverExitsMax, 0);
    for (int i = 0; i < n; i++) {
      auto it = exits_.find(static_cast<pid_t>(ready[i].data.u32));
      // Gone meanwhile (delivered by a callback of this loop): nothing to do; a new child
      // with the same pid is still running and onExitReady leaves it.
      if (it != exits_.end() && onExitReady(it->second)) delivered += 1;
    }
    return Napi::Number::New(env, delivered);
  }

  // Reaps exited children we do not watch. Our own children raise no SIGCHLD (exit signal
  // 0) and a waitid without __WALL never reports them, so P_ALL sees only re-parented
  // orphans; each is peeked first (WNOWAIT) and skipped if it is watched, so a pidfd
  // watcher never loses an exit. The daemon starts no child_process children (libuv reaps
  // those by pid; reaping them here would steal their status).
  void reapOrphans() {
    for (;;) {
      siginfo_t info;
      memset(&info, 0, sizeof info);
      if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0) {
        return;
      }
      if (exits_.count(info.si_pid) != 0) return;  // watched: its pidfd reaps it
      siginfo_t done;
      if (waitid(P_PID, static_cast<id_t>(info.si_pid), &done, WEXITED | WNOHANG) < 0) return;
      orphansReaped_ += 1;
    }
  }

  // One datagram to an sd_notify socket (a path, or `@name` for the abstract namespace).
  // Returns 0 or an errno.
  Napi::Value NotifySend(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::String, Kind::String}, "Usage: notifySend(path, message)")) {
      return env.Undefined();
    }
    int err = notifySend(info[0].As<Napi::String>().Utf8Value(),
                         info[1].As<Napi::String>().Utf8Value());
    return Napi::Number::New(env, err);
  }

  // getpwnam_r: { uid, gid } of a user name, null when there is none, or a SysError.
  Napi::Value LookupUser(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::String}, "Usage: lookupUser(name)")) return env.Undefined();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::vector<char> buf(64 * 1024);
    struct passwd pw;
    struct passwd* found = nullptr;
    int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != 0) return sysErrorObject(env, SysError{rc, "getpwnam_r"});
    if (found == nullptr) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("uid", Napi::Number::New(env, pw.pw_uid));
    o.Set("gid", Napi::Number::New(env, pw.pw_gid));
    return o;
  }

  // getgrnam_r: the gid of a group name, null when there is none, or a SysError.
  Napi::Value LookupGroup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!checkArgs(info, {Kind::String}, "Usage: lookupGroup(name)")) return env.Undefined();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::vector<char> buf(64 * 1024);
    struct group gr;
    struct group* found = nullptr;
    int rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc != 0) return sysErrorObject(env, SysError{rc, "getgrnam_r"});
    if (found == nullptr) return env.Null();
    return Napi::Number::New(env, gr.gr_gid);
  }

  // The pump's token bucket driven by a trace: [nowMs, wantBytes, …] → [granted, waitMs,
  // …]. Lets tests hold it against core/flow/bucket.ts on the same inputs.
  Napi::Value BucketTrace(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* usage = "Usage: bucketTrace(ratePerSec, burstBytes, [nowMs, wantBytes, ...])";
    std::vector<int64_t> trace;
    if (!checkArgs(info, {Kind::Number, Kind::Number, Kind::Array}, usage)) {
      return env.Undefined();
    }
    if (!readInts(info[2], &trace) || trace.size() % 2 != 0) {
      Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    TokenBucket bucket(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()),
                       static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value()));
    Napi::Array out = Napi::Array::New(env, trace.size());
    for (size_t i = 0; i + 1 < trace.size(); i += 2) {
      Grant g = bucket.take(static_cast<uint64_t>(trace[i + 1]), trace[i]);
      auto at = static_cast<uint32_t>(i);
      out.Set(at, Napi::Number::New(env, static_cast<double>(g.grantedBytes)));
      out.Set(at + 1, Napi::Number::New(env, static_cast<double>(g.waitMs)));
    }
    return out;
  }

  // ── The log store's writer (logfile.cc): captured pipes spliced into files ──────────

  // logInit(onLog(id, bytes, eof)): starts the writer thread; notes come back in the loop.
  Napi::Value LogInit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "Usage: logInit(onLog)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    onLog_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (logWriter_ != nullptr) return env.Undefined();
    logAsync_ = new uv_async_t();
    logAsync_->data = this;
    uv_async_init(loop_, logAsync_,
                  [](uv_async_t* h) { static_cast<Addon*>(h->data)->onLogNotes(); });
    uv_unref(reinterpret_cast<uv_handle_t*>(logAsync_));
    SysError error;
    logWriter_ = logWriterStart([](void* a) { uv_async_send(static_cast<uv_async_t*>(a)); },
                                logAsync_, &error);
    if (logWriter_ == nullptr) return sysErrorObject(env, error);
    return env.Undefined();
  }

  // Notes can still be pending while the environment is torn down (the handle is closed
  // in its cleanup): a call into JS that cannot run then is dropped, not a fatal error.
  void onLogNotes() {
    if (logWriter_ == nullptr || onLog_.IsEmpty()) return;
    std::vector<LogNote> notes = logWriterTake(logWriter_);
    if (notes.empty()) return;  // deliverReady asks often: no handle scope for nothing
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value global;
    napi_get_global(env, &global);
    for (const LogNote& n : notes) {
      napi_value args[3];
      napi_create_uint32(env, n.id, &args[0]);
      napi_create_double(env, static_cast<double>(n.bytes), &args[1]);
      napi_get_boolean(env, n.eof, &args[2]);
      napi_value result;
      napi_status st = napi_make_callback(env, nullptr, global, onLog_.Value(), 3, args, &result);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value e;
        napi_get_and_clear_last_exception(env, &e);
        if (st == napi_ok || st == napi_pending_exception) napi_fatal_exception(env, e);
      }
      if (st != napi_ok) break;
    }
    napi_close_handle_scope(env, scope);
  }

  void closeLogWriter() {
    if (logWriter_ != nullptr) logWriterStop(logWriter_);
    logWriter_ = nullptr;
    if (logAsync_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(logAsync_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
    }
    logAsync_ = nullptr;
  }

  Napi::Value logAdd(Napi::Env env, int fd, const Napi::CallbackInfo& info) {
    SysError error;
    uint32_t id = logWriterAdd(logWriter_, fd, info[1].As<Napi::String>().Utf8Value(),
                               static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()),
                               info[3].As<Napi::Number>().Uint32Value(), &error);
    if (id == 0) return sysErrorObject(env, error);
    return Napi::Number::New(env, id);
  }

  bool logArgsOk(const Napi::CallbackInfo& info, const char* usage) {
    bool ok = logWriter_ != nullptr && info.Length() == 4 && info[0].IsNumber() &&
              info[1].IsString() && info[2].IsNumber() && info[3].IsNumber();
    if (!ok) Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return ok;
  }

  // logOpen(fd, base, maxBytes, keep): takes `fd` (a pipe read end), also on failure.
  Napi::Value LogOpen(const Napi::CallbackInfo& info) {
    if (!logArgsOk(info, "Usage: logOpen(fd, base, maxBytes, keep) after logInit")) {
      return info.Env().Undefined();
    }
    return logAdd(info.Env(), info[0].As<Napi::Number>().Int32Value(), info);
  }

  // logMeta(dir, text): 0 when the writer writes `<dir>/meta.json` with a stream's first
  // file; 1 when a stream of `dir` has files already, 2 when none is open (the caller writes
  // it; for 2 only if `dir` exists).
  Napi::Value LogMeta(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (logWriter_ == nullptr || info.Length() != 2 || !info[0].IsString() ||
        !info[1].IsString()) {
      Napi::TypeError::New(env, "Usage: logMeta(dir, text) after logInit")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    LogMetaFate fate = logWriterMeta(logWriter_, info[0].As<Napi::String>().Utf8Value(),
                                     info[1].As<Napi::String>().Utf8Value());
    return Napi::Number::New(env, static_cast<int>(fate));
  }

  Napi::Value LogClose(const Napi::CallbackInfo& info) {
    if (logWriter_ != nullptr && info.Length() == 1 && info[0].IsNumber()) {
      logWriterRemove(logWriter_, info[0].As<Napi::Number>().Uint32Value());
    }
    return info.Env().Undefined();
  }

  Napi::Value LogWatch(const Napi::CallbackInfo& info) {
    if (logWriter_ != nullptr && info.Length() == 2 && info[0].IsNumber()) {
      logWriterWatch(logWriter_, info[0].As<Napi::Number>().Uint32Value(),
                     info[1].ToBoolean().Value());
    }
    return info.Env().Undefined();
  }

  // One stream's figure by id through `query`; -1 without a writer or for a bad call.
  Napi::Value logStreamFigure(const Napi::CallbackInfo& info,
                              int64_t (*query)(LogWriter*, uint32_t)) {
    Napi::Env env = info.Env();
    if (logWriter_ == nullptr || info.Length() != 1 || !info[0].IsNumber()) {
      return Napi::Number::New(env, -1);
    }
    int64_t n = query(logWriter_, info[0].As<Napi::Number>().Uint32Value());
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value LogBytes(const Napi::CallbackInfo& info) {
    return logStreamFigure(info, logWriterBytes);
  }

  // logStartBytes(id): the stream's offset when the pipe was added (-1: unknown id).
  Napi::Value LogStartBytes(const Napi::CallbackInfo& info) {
    return logStreamFigure(info, logWriterStartBytes);
  }

  Napi::Value Probe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
    o.Set("pidfd", Napi::Boolean::New(env, fd >= 0));
    if (fd >= 0) close(fd);
    // clone3 with a NULL args pointer: EFAULT/EINVAL when present, ENOSYS when not.
    long rc = syscall(SYS_clone3, nullptr, 0);
    o.Set("clone3", Napi::Boolean::New(env, rc < 0 && errno != ENOSYS));
    o.Set("orphansReaped", Napi::Number::New(env, orphansReaped_));
    return o;
  }

  napi_env env_ = nullptr;
  uv_loop_t* loop_ = nullptr;
  int devNull_ = -1;
  uint32_t lastId_ = 0;
  Napi::FunctionReference onExit_;
  Napi::FunctionReference onNotify_;
  Napi::FunctionReference onData_;
  std::unordered_map<pid_t, ExitWatch*> exits_;
  // Gated children (spawned with opts.gate) whose plan and stack they may still use: until
  // their exec (openGate) or their death.
  struct Gated {
    std::unique_ptr<SpawnPlan> plan;
    int reportFd;
    bool opened;
  };
  std::unordered_map<pid_t, Gated> gated_;

  void forgetGated(std::unordered_map<pid_t, Gated>::iterator it) {
    Gated& g = it->second;
    if (g.reportFd >= 0) close(g.reportFd);
    releaseHeld(*g.plan);
    gated_.erase(it);
  }
  int exitReady_ = -1;  // epoll set of the watched pidfds, for deliverReady
  std::unordered_map<uint32_t, NotifyWatch*> notifies_;
  std::unordered_map<uint32_t, CaptureWatch*> captures_;
  std::unordered_map<uint32_t, Pump*> pumps_;
  uv_signal_t* reaper_ = nullptr;       // SIGCHLD: reaps re-parented orphans
  double orphansReaped_ = 0;
  uv_check_t* eofCheck_ = nullptr;     // delivers pendingEofs_ after the poll phase
  std::vector<uint32_t> pendingEofs_;
  LogWriter* logWriter_ = nullptr;
  uv_async_t* logAsync_ = nullptr;
  Napi::FunctionReference onLog_;
};

}  // namespace shipote

using shipote::Addon;
NODE_API_ADDON(Addon)
