#
# SPDX-License-Identifier: Apache-2.0
#
# Runtime tests of the Go Parsec service, for testimage:
#   IMAGE_CLASSES += "testimage"
#   TEST_SUITES = "ping ssh parsec_go"
# The module must not be called parsec.py: upstream meta-parsec ships one and
# the oeqa loader refuses two modules of the same name.

import re

from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage

SOCKET_DIR = '/run/parsec'
CONFIG = '/etc/parsec/config.toml'
SWTPM_STATE = '/tmp/parsec-go-vtpm'
SWTPM_PORT = 2321


class ParsecGoTest(OERuntimeTestCase):
    swtpm_started = False

    @classmethod
    def systemd(cls):
        return 'systemd' in cls.td.get('DISTRO_FEATURES', '').split()

    def run_ok(self, cmd, msg=None):
        status, output = self.target.run(cmd)
        self.assertEqual(status, 0, msg='%s\n%s' % (msg or cmd, output))
        return output

    def service_pid(self):
        if self.systemd():
            out = self.run_ok('systemctl show -p MainPID --value parsec')
        else:
            out = self.run_ok('cat /run/parsec.pid')
        pid = out.strip()
        self.assertTrue(pid.isdigit() and pid != '0', msg='no service pid: %r' % out)
        return pid

    def reload(self):
        if self.systemd():
            self.run_ok('systemctl reload parsec')
        else:
            self.run_ok('/etc/init.d/parsec reload')

    def restart(self):
        if self.systemd():
            self.run_ok('systemctl restart parsec')
        else:
            self.run_ok('/etc/init.d/parsec restart')

    def providers(self):
        out = self.run_ok('parsec-tool list-providers')
        return sorted({int(m, 16) for m in re.findall(r'ID: (0x[0-9a-fA-F]+)', out)} - {0})

    @OEHasPackage(['parsec-service'])
    @OEHasPackage(['parsec-tool'])
    @OETestDepends(['ssh.SSHTest.test_ssh'])
    def test_service_running(self):
        if self.systemd():
            self.run_ok('systemctl is-active parsec')
        else:
            self.run_ok('/etc/init.d/parsec status')
        self.run_ok('parsec-tool ping')

    @OETestDepends(['parsec_go.ParsecGoTest.test_service_running'])
    def test_socket_restricted(self):
        out = self.run_ok('stat -c "%%U:%%G %%a" %s' % SOCKET_DIR)
        self.assertEqual(out.strip(), 'parsec:parsec-clients 750',
                         msg='%s must be parsec:parsec-clients 0750' % SOCKET_DIR)
        status, _ = self.target.run('id parsec-test-client && id parsec-test-other')
        if status != 0:
            self.skipTest('image lacks the parsec-test-client/parsec-test-other accounts')
        self.run_ok("su -s /bin/sh -c 'parsec-tool ping' parsec-test-client",
                    'a member of parsec-clients cannot reach the service')
        status, output = self.target.run("su -s /bin/sh -c 'parsec-tool ping' parsec-test-other")
        self.assertNotEqual(status, 0, msg='a non-member reached the service:\n%s' % output)

    @OETestDepends(['parsec_go.ParsecGoTest.test_service_running'])
    def test_swtpm_provider(self):
        """With a swtpm TCTI in the config, start swtpm in the guest and make
        the TPM provider appear by a reload."""
        status, _ = self.target.run('grep -q \'^tcti = "swtpm:\' %s' % CONFIG)
        if status != 0:
            self.skipTest('config.toml has no swtpm TCTI (PACKAGECONFIG SWTPM not set)')
        status, _ = self.target.run('command -v swtpm')
        if status != 0:
            self.skipTest('swtpm is not installed')
        if 3 not in self.providers():
            self.run_ok('mkdir -p %s' % SWTPM_STATE)
            self.run_ok('swtpm socket -d --tpm2 --tpmstate dir=%s '
                        '--server type=tcp,port=%d --ctrl type=tcp,port=%d '
                        '--flags not-need-init,startup-clear'
                        % (SWTPM_STATE, SWTPM_PORT, SWTPM_PORT + 1))
            ParsecGoTest.swtpm_started = True
            self.reload()
        self.assertIn(3, self.providers(), msg='TPM provider did not come up after reload')

    @OETestDepends(['parsec_go.ParsecGoTest.test_swtpm_provider'])
    def test_cli_each_provider(self):
        ids = self.providers()
        self.assertTrue(ids, msg='no provider configured')
        for pid in ids:
            self.run_ok('parsec-cli-tests.sh -%d' % pid, 'CLI tests failed for provider %d' % pid)

    @OETestDepends(['parsec_go.ParsecGoTest.test_cli_each_provider'])
    def test_reload_keeps_process(self):
        before = self.service_pid()
        providers = self.providers()
        self.reload()
        self.assertEqual(self.service_pid(), before, msg='reload must not restart the daemon')
        self.run_ok('parsec-tool ping')
        self.assertEqual(self.providers(), providers)

    @OETestDepends(['parsec_go.ParsecGoTest.test_reload_keeps_process'])
    def test_restart_keeps_keys(self):
        name = 'parsec-go-oeqa-restart'
        self.target.run('parsec-tool delete-key --key-name %s' % name)
        self.run_ok('parsec-tool create-ecc-key --key-name %s' % name)
        before = self.service_pid()
        self.restart()
        self.assertNotEqual(self.service_pid(), before, msg='restart kept the old process')
        out = self.run_ok('parsec-tool list-keys')
        self.assertIn(name, out, msg='key lost across restart')
        self.run_ok('parsec-tool delete-key --key-name %s' % name)

    @classmethod
    def tearDownClass(cls):
        if cls.swtpm_started:
            cls.tc.target.run('swtpm_ioctl -s --tcp :%d' % (SWTPM_PORT + 1))
