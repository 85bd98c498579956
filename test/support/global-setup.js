// Jest globalSetup: the e2e tests spawn real Redis peers (test/peers/redis.ts), so redis-server and
// redis-sentinel must be on PATH. A no-op when they are; otherwise installs Debian's packages (root only).
// The tests never use a system Redis: apt's postinst is kept from starting one (policy-rc.d), and any
// that runs anyway is stopped, so nothing listens on 6379/26379 that a test could come to depend on.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const BINARIES = ['redis-server', 'redis-sentinel'];
const INSTALL_HINT = 'apt-get update && apt-get install -y redis-server redis-sentinel';
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const SYSTEM_SERVICES = [
  { name: 'redis-sentinel', pidfile: '/run/sentinel/redis-sentinel.pid' },
  { name: 'redis-server', pidfile: '/run/redis/redis-server.pid' },
];

function onPath(binary) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => {
    if (!dir) return false;
    try {
      fs.accessSync(path.join(dir, binary), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function run(command, args) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout || ''}${result.stderr || ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(
      `\`${command} ${args.join(' ')}\` failed (${result.error ? result.error.message : `exit code ${result.status}`}):\n${output}`,
    );
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a system redis/sentinel that apt (or init) started: init script first, then by its pidfile. */
function stopSystemService({ name, pidfile }) {
  if (fs.existsSync('/run/systemd/system') && onPath('systemctl')) {
    spawnSync('systemctl', ['disable', '--now', name], { stdio: 'ignore' });
  }
  if (fs.existsSync(`/etc/init.d/${name}`) && onPath('service')) {
    spawnSync('service', [name, 'stop'], { stdio: 'ignore' });
    if (onPath('update-rc.d')) spawnSync('update-rc.d', [name, 'disable'], { stdio: 'ignore' });
  }
  let pid;
  try {
    pid = Number(fs.readFileSync(pidfile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return;
  let comm = '';
  try {
    comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    // not Linux procfs: trust the pidfile
  }
  if (comm && !comm.startsWith('redis')) return; // a stale pidfile naming someone else
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function install() {
  // policy-rc.d exiting 101 tells invoke-rc.d / deb-systemd-invoke not to start services (Docker images ship one)
  const ownPolicy = !fs.existsSync(POLICY_RC_D);
  if (ownPolicy)
    fs.writeFileSync(POLICY_RC_D, '#!/bin/sh\n# written by test/support/global-setup.js\nexit 101\n', { mode: 0o755 });
  try {
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', 'redis-server', 'redis-sentinel']);
  } finally {
    if (ownPolicy) fs.rmSync(POLICY_RC_D, { force: true });
  }
  for (const service of SYSTEM_SERVICES) stopSystemService(service);
}

async function globalSetup() {
  const missing = BINARIES.filter((binary) => !onPath(binary));
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || process.platform !== 'linux' || !onPath('apt-get')) {
    throw new Error(
      `The tests need ${missing.join(' and ')} (Redis 7) on PATH. Install them, e.g. as root on Debian/Ubuntu: ${INSTALL_HINT}` +
        (isRoot ? '' : ' (this run is not root, so it cannot install them itself)'),
    );
  }
  install();
  const stillMissing = BINARIES.filter((binary) => !onPath(binary));
  if (stillMissing.length) {
    throw new Error(`${INSTALL_HINT} ran but ${stillMissing.join(' and ')} is still not on PATH`);
  }
}

module.exports = globalSetup;
// for checking the parts by hand: node -e "require('./test/support/global-setup.js').stopSystemRedis()"
module.exports.install = install;
module.exports.stopSystemRedis = () => SYSTEM_SERVICES.forEach(stopSystemService);
