#!/usr/bin/env node
// The `shipote` command as an ES module, for paths that name this file: bin/shipote.cjs is
// the command (package.json `bin`); see there why it is CommonJS.
import './shipote.cjs';
