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
SOFTHSM_TOKENS = '/var/lib/softhsm/tokens'
PKCS11_COSERVER = '/usr/libexec/parsec/parsec-pkcs11'


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

    @OETestDepends(['parsec_go.ParsecGoTest.test_cli_each_provider'])
    def test_pkcs11_provider(self):
        """PACKAGECONFIG PKCS11 SOFTHSM: a SoftHSM 2 token made in the guest,
        usable by group softhsm (which the parsec user is in), a Pkcs11
        provider table appended as upstream meta-parsec's test does, a
        reload, then the CLI tests for provider 2 (--no-oaep: SoftHSM's OAEP
        takes SHA-1 only). The co-server must be running."""
        status, _ = self.target.run('command -v softhsm2-util && test -x %s' % PKCS11_COSERVER)
        if status != 0:
            self.skipTest('softhsm2-util or the parsec-pkcs11 co-server is not installed '
                          '(PACKAGECONFIG PKCS11 SOFTHSM)')
        if 2 in self.providers():
            self.skipTest('a PKCS#11 provider is already configured')
        self.run_ok('id -nG parsec | grep -qw softhsm', 'the parsec user is not in group softhsm')
        self.run_ok('cp %s /tmp/parsec-go-config.toml.orig' % CONFIG)
        try:
            out = self.run_ok('softhsm2-util --init-token --free --label "Parsec Go" '
                              '--pin 123456 --so-pin 123456')
            m = re.search(r'reassigned to slot (\d+)', out)
            self.assertTrue(m, msg='no slot in:\n%s' % out)
            self.run_ok('chgrp -R softhsm %s && chmod -R g+rwX %s' % (SOFTHSM_TOKENS, SOFTHSM_TOKENS))
            table = ('\n[[provider]]\nprovider_type = "Pkcs11"\nkey_info_manager = "sqlite-manager"\n'
                     'library_path = "/usr/lib/softhsm/libsofthsm2.so"\nslot_number = %s\n'
                     'user_pin = "123456"\nallow_export = true\n' % m.group(1))
            self.run_ok("printf '%s' >> %s" % (table, CONFIG))
            self.reload()
            self.assertIn(2, self.providers(), msg='PKCS#11 provider did not come up after reload')
            self.run_ok('pidof parsec-pkcs11', 'the co-server is not running')
            self.run_ok('parsec-cli-tests.sh -2 --no-oaep', 'CLI tests failed for provider 2')
        finally:
            self.target.run('cp /tmp/parsec-go-config.toml.orig %s' % CONFIG)
            self.reload()

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
