#!/usr/bin/env python3
"""Host tests of the init integration against the real daemon.

The parsec-service recipe is carried out into a staging root first
(scripts/yocto-check/stage_install.py), so what runs here is the installed
init script, units, config and binary. Paths under /run and /var/lib are moved
into a scratch directory so the host's own /run/parsec is never touched.

  sysvinit script: under dash with Debian's start-stop-daemon, and under
    busybox sh with busybox's applets (as in a small Yocto image):
    start/status/access control/reload/restart/stop, failure cases.
  systemd units: parsec.service's ExecStart, run as its User/Group with a
    NOTIFY_SOCKET (Type=notify: READY=1, RELOADING=1 on ExecReload,
    STOPPING=1 on SIGTERM), and parsec.socket's ListenStream handed over by
    systemd-socket-activate (LISTEN_FDS).

Needs root, the parsec accounts (created from the recipe), busybox,
systemd-socket-activate and setpriv. Prints PASS/FAIL/SKIP lines.
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'yocto-check'))

from layerlib import Results  # noqa: E402

RECIPE = os.path.join(ROOT, 'recipes-security', 'parsec-service', 'parsec-service_0.1.0.bb')
NOBODY = 65534


class Env:
    """Scratch layout: the staged image plus per-test /run and /var/lib."""

    def __init__(self, tmp, image, tool):
        self.tmp, self.image, self.tool = tmp, image, tool
        self.bin = os.path.join(image, 'usr/libexec/parsec/parsec')
        self.init = os.path.join(image, 'etc/init.d/parsec')
        self.units = os.path.join(image, 'lib/systemd/system')
        self.rundir = os.path.join(tmp, 'run/parsec')
        self.statedir = os.path.join(tmp, 'var/lib/parsec')
        self.socket = os.path.join(self.rundir, 'parsec.sock')
        self.config = os.path.join(tmp, 'etc/parsec/config.toml')
        self.pidfile = os.path.join(tmp, 'run/parsec.pid')
        self.log = os.path.join(tmp, 'var/log/parsec.log')

    def write_config(self, store_suffix=''):
        with open(os.path.join(self.image, 'etc/parsec/config.toml')) as f:
            text = f.read()
        subst = {'/run/parsec': self.rundir,
                 '/var/lib/parsec/mappings': self.statedir + '/mappings' + store_suffix,
                 '/var/lib/parsec/mbed-crypto': self.statedir + '/mbed-crypto' + store_suffix,
                 '/var/lib/parsec': self.statedir}
        pat = re.compile('|'.join(re.escape(k) for k in sorted(subst, key=len, reverse=True)))
        text = pat.sub(lambda m: subst[m.group(0)], text)
        os.makedirs(os.path.dirname(self.config), exist_ok=True)
        with open(self.config, 'w') as f:
            f.write(text)
        os.chmod(os.path.dirname(self.config), 0o755)
        os.chmod(self.config, 0o644)

    def init_env(self):
        return {
            'PATH': os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin'),
            'PARSEC_DEFAULTS': os.path.join(self.tmp, 'no-defaults'),
            'PARSEC_BIN': self.bin, 'PARSEC_CONFIG': self.config,
            'PARSEC_RUNDIR': self.rundir, 'PARSEC_STATEDIR': self.statedir,
            'PARSEC_PIDFILE': self.pidfile, 'PARSEC_LOG': self.log,
            'PARSEC_TOOL': self.tool, 'PARSEC_START_TIMEOUT': '20',
        }


def run(cmd, env=None, timeout=60, **kw):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, **kw)


def proc_user(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Uid:'):
                return pwd.getpwuid(int(line.split()[1])).pw_name
    return None


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except OSError:
        return False


def ping(e, uid=None, groups=None):
    env = dict(os.environ, PARSEC_SERVICE_ENDPOINT='unix:' + e.socket)
    cmd = [e.tool, 'ping']
    if uid is not None:
        cmd = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid] + (
            ['--groups=' + ','.join(map(str, groups))] if groups else ['--clear-groups']) + cmd
    return run(cmd, env=env, timeout=30)


def tool(e, *args):
    env = dict(os.environ, PARSEC_SERVICE_ENDPOINT='unix:' + e.socket)
    return run([e.tool] + list(args), env=env, timeout=60)


def sysv_suite(res, e, flavour):
    """flavour: 'dash' (Debian start-stop-daemon) or 'busybox'."""
    env = e.init_env()
    if flavour == 'busybox':
        bb = os.path.join(e.tmp, 'busybox-bin')
        os.makedirs(bb, exist_ok=True)
        for applet in ('start-stop-daemon', 'sh', 'readlink', 'sleep', 'cat', 'chown', 'chmod',
                       'mkdir', 'rm', 'touch', 'id', 'sed', 'head', 'tail', 'dirname', 'timeout',
                       'kill'):
            link = os.path.join(bb, applet)
            if not os.path.exists(link):
                os.symlink(shutil.which('busybox'), link)
        env['PATH'] = bb + ':' + env['PATH']
        shell = [os.path.join(bb, 'sh')]
    else:
        shell = ['/bin/sh']
    t = '%s: ' % flavour

    def init(verb):
        return run(shell + [e.init, verb], env=env, timeout=90)

    def pid():
        try:
            return int(open(e.pidfile).read().strip())
        except (OSError, ValueError):
            return None

    p = init('status')
    res.check(t + 'status before start exits 3', [] if p.returncode == 3 else
              ['exit %d: %s' % (p.returncode, p.stdout + p.stderr)])
    t0 = time.monotonic()
    p = init('start')
    took = time.monotonic() - t0
    if p.returncode != 0:
        log = open(e.log).read()[-1500:] if os.path.exists(e.log) else ''
        res.fail(t + 'start', 'exit %d: %s %s\nlog: %s' % (p.returncode, p.stdout, p.stderr, log))
        return
    problems = []
    first = pid()
    if not first or not alive(first):
        problems.append('no live pid in %s' % e.pidfile)
    elif os.path.realpath('/proc/%d/exe' % first) != os.path.realpath(e.bin):
        problems.append('pidfile pid runs %s' % os.path.realpath('/proc/%d/exe' % first))
    elif proc_user(first) != 'parsec':
        problems.append('daemon runs as %s' % proc_user(first))
    if not os.path.exists(e.socket) or not stat.S_ISSOCK(os.stat(e.socket).st_mode):
        problems.append('no socket at %s' % e.socket)
    st = os.stat(e.rundir)
    got = (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
           oct(stat.S_IMODE(st.st_mode)))
    if got != ('parsec', 'parsec-clients', '0o750'):
        problems.append('%s is %s' % (e.rundir, got))
    q = ping(e)
    if q.returncode:
        problems.append('ping after start failed: %s' % q.stderr.strip())
    res.check(t + 'start: daemon as parsec, pidfile, socket answers, run dir parsec:parsec-clients 0750',
              problems, 'returned after %.1fs' % took)

    p = init('start')
    res.check(t + 'second start is a no-op', [] if p.returncode == 0 and pid() == first else
              ['exit %d pid %s: %s' % (p.returncode, pid(), p.stdout + p.stderr)])
    p = init('status')
    res.check(t + 'status while running exits 0', [] if p.returncode == 0 and str(first) in p.stdout
              else ['exit %d: %s' % (p.returncode, p.stdout)])

    clients = grp.getgrnam('parsec-clients').gr_gid
    q_in = ping(e, NOBODY, [clients])
    q_out = ping(e, NOBODY, None)
    problems = []
    if q_in.returncode:
        problems.append('member of parsec-clients refused: %s' % q_in.stderr.strip()[:200])
    if q_out.returncode == 0:
        problems.append('non-member reached the service')
    res.check(t + 'socket reachable by parsec-clients members only', problems)

    # Reload: the daemon must pick up the new configuration in place. The
    # key stores move, so a key made before is not listed after, and is
    # back once the original configuration is reloaded.
    key = 'init-test-%s' % flavour
    tool(e, 'delete-key', '--key-name', key)
    c = tool(e, 'create-ecc-key', '--key-name', key)
    problems = [] if c.returncode == 0 else ['create-ecc-key: %s' % c.stderr.strip()[:300]]
    e.write_config(store_suffix='-other')
    p = init('reload')
    if p.returncode:
        problems.append('reload exit %d: %s' % (p.returncode, p.stdout + p.stderr))
    if pid() != first or not alive(first):
        problems.append('reload replaced the process')
    lk = tool(e, 'list-keys')
    if key in lk.stdout:
        problems.append('key store unchanged after reload with new store paths')
    e.write_config()
    p = init('force-reload')
    lk = tool(e, 'list-keys')
    if p.returncode or key not in lk.stdout:
        problems.append('after reloading the original config the key is missing (%s)' % lk.stdout.strip()[:200])
    res.check(t + 'reload (SIGHUP) re-reads config.toml in place', problems)

    p = init('restart')
    second = pid()
    problems = []
    if p.returncode:
        problems.append('exit %d: %s' % (p.returncode, p.stdout + p.stderr))
    if second == first or alive(first):
        problems.append('old process %s still there' % first)
    if ping(e).returncode:
        problems.append('no answer after restart')
    if key not in tool(e, 'list-keys').stdout:
        problems.append('key lost across restart')
    tool(e, 'delete-key', '--key-name', key)
    res.check(t + 'restart replaces the process, keys persist', problems)

    p = init('stop')
    problems = []
    if p.returncode:
        problems.append('exit %d: %s' % (p.returncode, p.stdout + p.stderr))
    if second and alive(second):
        problems.append('daemon %d still alive' % second)
    if os.path.exists(e.pidfile):
        problems.append('pidfile left behind')
    if init('status').returncode != 3:
        problems.append('status after stop is not 3')
    if init('stop').returncode != 0:
        problems.append('stop when stopped fails')
    res.check(t + 'stop: SIGTERM, process gone, status 3, repeated stop ok', problems)

    # Crash: status must tell "dead but pidfile exists".
    init('start')
    victim = pid()
    if victim:
        os.kill(victim, signal.SIGKILL)
        for _ in range(50):
            if not alive(victim):
                break
            time.sleep(0.1)
    p = init('status')
    res.check(t + 'status after a crash exits 1', [] if p.returncode == 1 else
              ['exit %d: %s' % (p.returncode, p.stdout)])
    init('stop')

    # A configuration the daemon refuses: start must fail, not hang or lie.
    with open(e.config, 'a') as f:
        f.write('\n[[key_manager]]\nname = "broken"\nmanager_type = "SQLite"\n')
    p = init('start')
    problems = []
    if p.returncode == 0:
        problems.append('start reported success')
    if pid() and alive(pid()):
        problems.append('daemon left running')
    res.check(t + 'start with a refused config fails with the log shown', problems,
              (p.stderr.strip().splitlines() or [''])[0][:100])
    init('stop')
    e.write_config()


def parse_unit(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(('#', ';', '[')) and '=' in line:
                k, v = line.split('=', 1)
                out.setdefault(k, []).append(v)
    return out


def notify_suite(res, e):
    """Run parsec.service's ExecStart the way systemd would for Type=notify."""
    unit = parse_unit(os.path.join(e.units, 'parsec.service'))
    problems = []
    if unit.get('Type') != ['notify']:
        problems.append('Type is %s' % unit.get('Type'))
    if unit.get('User') != ['parsec']:
        problems.append('User is %s' % unit.get('User'))
    exec_start = unit['ExecStart'][0].split()
    exec_start[0] = e.image + exec_start[0]
    exec_start[exec_start.index('--config') + 1] = e.config
    nsock = os.path.join(e.tmp, 'notify.sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(nsock)
    os.chmod(nsock, 0o777)
    srv.settimeout(20)
    os.makedirs(e.rundir, exist_ok=True)
    shutil.chown(e.rundir, 'parsec', 'parsec-clients')
    os.chmod(e.rundir, 0o750)
    umask = unit.get('UMask', ['0022'])[0]
    user = unit['User'][0]
    cmd = ['setpriv', '--reuid=' + user, '--regid=' + unit['Group'][0], '--init-groups',
           'sh', '-c', 'umask %s; cd %s && exec "$@"' % (umask, e.statedir), 'sh'] + exec_start
    env = dict(os.environ, NOTIFY_SOCKET=nsock)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)

    def expect(word):
        seen = []
        while True:
            try:
                msg = srv.recv(4096).decode()
            except socket.timeout:
                return 'no %s (got %s)' % (word, seen)
            seen.append(msg.replace('\n', ' '))
            if re.search(r'(^|\n)%s($|\n)' % re.escape(word), msg):
                return None

    try:
        err = expect('READY=1')
        if err:
            problems.append(err)
        elif ping(e).returncode:
            problems.append('READY=1 sent but socket does not answer')
        res.check('systemd: ExecStart as %s sends READY=1 when the socket answers' % user,
                  problems)
        reload_cmd = unit['ExecReload'][0].replace('$MAINPID', str(proc.pid)).split()
        reload_cmd[0] = os.path.basename(reload_cmd[0])
        run(reload_cmd)
        problems = [x for x in (expect('RELOADING=1'), expect('READY=1')) if x]
        if proc.poll() is not None:
            problems.append('daemon exited on ExecReload')
        res.check('systemd: ExecReload (%s) gives RELOADING=1 then READY=1'
                  % ' '.join(unit['ExecReload'][0].split()[:2]), problems)
        proc.send_signal(signal.SIGTERM)
        problems = [x for x in (expect('STOPPING=1'),) if x]
        try:
            rc = proc.wait(timeout=int(unit.get('TimeoutStopSec', ['30'])[0]))
            if rc != 0:
                problems.append('exit status %d on SIGTERM' % rc)
        except subprocess.TimeoutExpired:
            problems.append('did not stop within TimeoutStopSec')
        res.check('systemd: SIGTERM gives STOPPING=1 and exit 0', problems)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        srv.close()


def socket_activation_suite(res, e):
    sock_unit = parse_unit(os.path.join(e.units, 'parsec.socket'))
    listen = sock_unit['ListenStream'][0].replace('/run/parsec', e.rundir)
    if os.path.exists(listen):
        os.unlink(listen)
    svc = parse_unit(os.path.join(e.units, 'parsec.service'))
    exec_start = svc['ExecStart'][0].split()
    exec_start[0] = e.image + exec_start[0]
    exec_start[exec_start.index('--config') + 1] = e.config
    cmd = ['systemd-socket-activate', '-l', listen, '--',
           'setpriv', '--reuid=parsec', '--regid=parsec', '--init-groups'] + exec_start
    proc = subprocess.Popen(cmd, cwd=e.statedir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    problems = []
    try:
        for _ in range(100):
            if os.path.exists(listen):
                break
            time.sleep(0.05)
        # The unit's SocketUser/SocketGroup/SocketMode, as systemd applies them.
        shutil.chown(listen, sock_unit['SocketUser'][0], sock_unit['SocketGroup'][0])
        os.chmod(listen, int(sock_unit['SocketMode'][0], 8))
        inode = os.stat(listen).st_ino
        q = ping(e)
        if q.returncode:
            problems.append('ping over the activated socket failed: %s' % q.stderr.strip()[:300])
        elif os.stat(listen).st_ino != inode:
            problems.append('daemon replaced the passed socket instead of using LISTEN_FDS')
        if not problems and ping(e, NOBODY, [grp.getgrnam('parsec-clients').gr_gid]).returncode:
            problems.append('group member refused on the activated socket')
        res.check('systemd: parsec.socket ListenStream handed over (LISTEN_FDS) is served',
                  problems)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    res = Results('init: ')
    if not os.path.isdir(os.path.join(ROOT, 'service', 'cmd', 'parsec')):
        res.skip('all init tests', 'service/cmd/parsec does not exist yet (no daemon to run)')
        return 0
    if os.geteuid() != 0:
        res.fail('preconditions', 'must run as root')
        return 1
    missing = [t for t in ('busybox', 'setpriv', 'systemd-socket-activate', 'go')
               if not shutil.which(t)]
    if missing:
        res.fail('preconditions', 'missing tools: %s' % ' '.join(missing))
        return 1
    tmp = tempfile.mkdtemp(prefix='parsec-init-')
    os.chmod(tmp, 0o755)
    try:
        stage = os.path.join(tmp, 'stage')
        p = run([sys.executable, os.path.join(ROOT, 'scripts/yocto-check/stage_install.py'),
                 RECIPE, '--keep', stage, '--create-host-accounts',
                 '--distro-features', 'systemd sysvinit'], timeout=600)
        if p.returncode:
            res.fail('staging install of parsec-service', p.stdout[-1500:] + p.stderr[-500:])
            return 1
        image = os.path.join(stage, 'image')
        os.chmod(stage, 0o755)
        tool_bin = os.path.join(tmp, 'parsec-tool')
        p = run(['go', 'build', '-mod=vendor', '-o', tool_bin, './tools/parsec-tool'], cwd=ROOT,
                env=dict(os.environ, CGO_ENABLED='0'), timeout=600)
        if p.returncode:
            res.fail('build parsec-tool (test client)', p.stderr[-800:])
            return 1
        for flavour in ('dash', 'busybox'):
            sub = os.path.join(tmp, flavour)
            os.makedirs(sub)
            os.chmod(sub, 0o755)
            e = Env(sub, image, tool_bin)
            e.write_config()
            os.makedirs(os.path.dirname(e.log), exist_ok=True)
            try:
                sysv_suite(res, e, flavour)
            finally:
                run(['/bin/sh', e.init, 'stop'], env=e.init_env())
        sub = os.path.join(tmp, 'systemd')
        os.makedirs(sub)
        os.chmod(sub, 0o755)
        e = Env(sub, image, tool_bin)
        e.write_config()
        os.makedirs(e.statedir, exist_ok=True)
        shutil.chown(e.statedir, 'parsec', 'parsec')
        os.chmod(e.statedir, 0o700)
        notify_suite(res, e)
        socket_activation_suite(res, e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main())
