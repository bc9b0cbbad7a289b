{
  "targets": [
    {
      "target_name": "shipote",
      "sources": [
        "src/addon.cc",
        "src/spawn.cc",
        "src/pump.cc",
        "src/notify.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "_FORTIFY_SOURCE=2",
        "_GNU_SOURCE"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O2", "-fstack-protector-strong", "-fPIC", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-O2", "-fstack-protector-strong", "-fPIC", "-Wall", "-Wextra"],
      "ldflags": ["-Wl,-z,relro,-z,now", "-pthread"]
    },
    {
      "target_name": "shipote_reaper",
      "sources": ["src/reaper.cc"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-fstack-protector-strong", "-fPIC", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-O2", "-fstack-protector-strong", "-fPIC", "-Wall", "-Wextra"],
      "ldflags": ["-Wl,-z,relro,-z,now"]
    }
  ]
}
