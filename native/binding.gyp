{
  "targets": [
    {
      "target_name": "shipote",
      "sources": [
        "src/addon.cc",
        "src/spawn.cc",
        "src/pump.cc",
        "src/notify.cc",
        "src/logfile.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # No C++ exceptions anywhere: node-addon-api reports failures as pending JS exceptions
      # (NAPI_DISABLE_CPP_EXCEPTIONS), our code neither throws nor catches, and the C++ is
      # compiled with -fno-exceptions (gyp's default, kept), so a failed allocation aborts.
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "_FORTIFY_SOURCE=2",
        "_GNU_SOURCE"
      ],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O2", "-fstack-protector-strong", "-fPIC", "-Wall", "-Wextra"],
      "cflags_cc": [
        "-std=c++17", "-fno-exceptions", "-O2", "-fstack-protector-strong", "-fPIC", "-Wall",
        "-Wextra"
      ],
      "ldflags": ["-Wl,-z,relro,-z,now", "-pthread"]
    }
  ]
}
