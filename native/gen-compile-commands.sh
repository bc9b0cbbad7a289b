#!/bin/sh
# Writes native/compile_commands.json (for clangd/clang-tidy) with gyp's generator, then
# restores the make build files. Usage: sh native/gen-compile-commands.sh
set -eu
cd "$(dirname "$0")"
npx node-gyp configure -- -f compile_commands_json >/dev/null
cp build/Release/compile_commands.json compile_commands.json
npx node-gyp configure >/dev/null
echo "wrote $(pwd)/compile_commands.json"
