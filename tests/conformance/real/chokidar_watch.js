// SPDX-License-Identifier: GPL-2.0
// Node chokidar as an application uses it: one recursive watcher, defaults
// except ignoreInitial (only changes, not the initial scan) and no
// awaitWriteFinish. Prints every changed path on its own line and READY
// once the initial scan is done. NODE_PATH points at the cache's
// node_modules (scripts/setup.sh).
'use strict';
const chokidar = require('chokidar');

const watcher = chokidar.watch(process.argv[2], {
  ignoreInitial: true,
  awaitWriteFinish: false,
});
watcher.on('all', (_event, path) => process.stdout.write(path + '\n'));
watcher.on('error', (err) => process.stderr.write(`error: ${err}\n`));
watcher.on('ready', () => process.stdout.write('READY\n'));
