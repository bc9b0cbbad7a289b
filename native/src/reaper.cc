// shipote as the init of a container (`shipote daemon --init`, `--apply`): reaps orphans.
// A process whose parent dies is reparented to pid 1 (or to the nearest child subreaper)
// and the kernel resets its exit signal to SIGCHLD. waitpid(-1) WITHOUT __WALL sees only
// children with that exit signal: the orphans, never the supervised children the main
// addon starts with exit signal 0 and waits for through their pidfds (see spawn.cc).
// A separate module so the main addon stays as it is.

#include <errno.h>
#include <node_api.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

namespace {

napi_value Throw(napi_env env, const char* what) {
  napi_throw_error(env, nullptr, what);
  return nullptr;
}

// reapOrphans() → number[]: the pids reaped now (none waiting: []).
napi_value ReapOrphans(napi_env env, napi_callback_info) {
  napi_value out;
  if (napi_create_array(env, &out) != napi_ok) return Throw(env, "reapOrphans: array");
  uint32_t n = 0;
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) break;  // 0: children alive, none dead; ECHILD: no such children
    napi_value v;
    napi_create_int32(env, pid, &v);
    napi_set_element(env, out, n++, v);
  }
  return out;
}

// setChildSubreaper() → 0 or errno: orphans of our descendants come to us, not to pid 1.
napi_value SetChildSubreaper(napi_env env, napi_callback_info) {
  int rc = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  napi_value v;
  napi_create_int32(env, rc == 0 ? 0 : errno, &v);
  return v;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"reapOrphans", nullptr, ReapOrphans, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setChildSubreaper", nullptr, SetChildSubreaper, nullptr, nullptr, nullptr, napi_default,
       nullptr},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
