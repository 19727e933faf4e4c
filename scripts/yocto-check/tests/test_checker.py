#!/usr/bin/env python3
"""The checker must fail on a broken layer: each test breaks one thing in a
copy of the layer and expects a FAIL line naming it. The unbroken copy must
pass (so a failure is caused by the breakage, not by the copy)."""

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKDIR = os.path.dirname(HERE)
ROOT = os.path.normpath(os.path.join(CHECKDIR, '..', '..'))
sys.path.insert(0, CHECKDIR)

import check_layer  # noqa: E402
from layerlib import Results  # noqa: E402

SERVICE = 'recipes-security/parsec-service/parsec-service_0.1.0.bb'
INC = 'recipes-security/parsec-go/parsec-go.inc'
SKIP_TOP = {'.git', 'qemu-tests', '.ci'}


def copy_layer(dst, with_vendor=True):
    for name in os.listdir(ROOT):
        if name in SKIP_TOP or (name == 'vendor' and not with_vendor):
            continue
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dst, name), symlinks=True)
        else:
            shutil.copy2(src, os.path.join(dst, name))


def rewrite(path, text):
    os.unlink(path)
    with open(path, 'w') as f:
        f.write(text)


def append(path, text):
    rewrite(path, open(path).read() + text)


def run_checks(root, *funcs):
    """Run check functions on root; return the FAIL lines."""
    res = Results('')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for f in funcs:
            f(root, res)
    return [line for line in out.getvalue().splitlines() if line.startswith('FAIL')]


def recipes(root, res):
    for r in (SERVICE, 'recipes-security/parsec-tool/parsec-tool_0.1.0.bb'):
        check_layer.check_recipe(root, os.path.join(root, r), res, run_go=False)
        check_layer.check_provider_tags(root, os.path.join(root, r), res, run_go=False)


def drop_tags_line(path):
    """Take from the service recipe at path the line that passes its tags to go."""
    with open(path) as f:
        text, n = re.subn(r'^GOBUILDFLAGS:append = .*-tags=.*\n', '', f.read(), flags=re.M)
    assert n == 1, 'test setup: no single GOBUILDFLAGS -tags line in the recipe'
    rewrite(path, text)


def provider_tags_go(root, res):
    check_layer.check_provider_tags(root, os.path.join(root, SERVICE), res, run_go=True)


STATIC = (check_layer.check_layer_conf, check_layer.check_syntax, recipes,
          check_layer.check_go_mod, check_layer.check_meta_parsec, check_layer.check_oeqa,
          check_layer.check_readme_modes)


class BrokenLayer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pristine = tempfile.mkdtemp(prefix='yocto-check-test-')
        copy_layer(cls.pristine)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pristine, ignore_errors=True)

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='yocto-check-case-')
        shutil.rmtree(self.root)
        # Hard links keep the copy cheap; every edit below replaces a file
        # (new inode) so the pristine copy is never changed through a link.
        shutil.copytree(self.pristine, self.root, symlinks=True, copy_function=os.link)

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def edit(self, rel, old, new, count=1):
        p = os.path.join(self.root, rel)
        text = open(p).read()
        self.assertIn(old, text, msg='test setup: %r not in %s' % (old, rel))
        rewrite(p, text.replace(old, new, count))

    def assertFails(self, pattern, funcs=STATIC):
        fails = run_checks(self.root, *funcs)
        self.assertTrue(any(re.search(pattern, f) for f in fails),
                        msg='expected a failure matching %r, got %s' % (pattern, fails))

    # The copy itself passes, so every failure below is the breakage's.
    def test_pristine_copy_passes(self):
        self.assertEqual(run_checks(self.root, *STATIC), [])

    def test_layer_conf_missing(self):
        os.unlink(os.path.join(self.root, 'conf/layer.conf'))
        self.assertFails(r'conf/layer.conf is missing')

    def test_layer_priority_not_above_meta_parsec(self):
        self.edit('conf/layer.conf', 'BBFILE_PRIORITY_parsec-go = "10"',
                  'BBFILE_PRIORITY_parsec-go = "5"')
        self.assertFails(r'must be above meta-parsec')

    def test_layer_wrong_pattern(self):
        self.edit('conf/layer.conf', 'BBFILE_PATTERN_parsec-go = "^${LAYERDIR}/"',
                  'BBFILE_PATTERN_parsec-go = "${LAYERDIR}"')
        self.assertFails(r'BBFILE_PATTERN_parsec-go')

    def test_layer_unknown_series(self):
        self.edit('conf/layer.conf', 'scarthgap styhead walnascar whinlatter wrynose',
                  'scarthgap styhead walnascar whinlatter wrynose kirkstonee')
        self.assertFails(r'unknown release series in LAYERSERIES_COMPAT: kirkstonee')

    # Issue 15 item 16: every release whose Go builds us.
    def test_layer_series_missing(self):
        self.edit('conf/layer.conf', 'scarthgap styhead walnascar whinlatter wrynose',
                  'scarthgap whinlatter wrynose')
        self.assertFails(r'LAYERSERIES_COMPAT lacks styhead walnascar')

    # Issue 15 item 16: SPDX AND on oe-core master, '&' where only that parses.
    def test_license_old_syntax_on_master(self):
        self.edit(INC, 'LICENSE = "Apache-2.0 ${PARSEC_LICENSE_AND} BSD-3-Clause ${PARSEC_LICENSE_AND} MIT"',
                  'LICENSE = "Apache-2.0 & BSD-3-Clause & MIT"')
        self.assertFails(r'on oe-core master LICENSE is "Apache-2.0 & BSD-3-Clause & MIT": old syntax')

    def test_license_and_on_scarthgap(self):
        self.edit(INC, 'LICENSE = "Apache-2.0 ${PARSEC_LICENSE_AND} BSD-3-Clause ${PARSEC_LICENSE_AND} MIT"',
                  'LICENSE = "Apache-2.0 AND BSD-3-Clause AND MIT"')
        self.assertFails(r'on scarthgap LICENSE is "Apache-2.0 AND BSD-3-Clause AND MIT": its parser takes only')

    # Issue 15 item 17: the test script and openssl-bin stay out of parsec-tool.
    def test_cli_tests_in_main_package(self):
        self.edit('recipes-security/parsec-tool/parsec-tool_0.1.0.bb',
                  'RDEPENDS:${PN}-tests = "${PN} openssl-bin"', 'RDEPENDS:${PN} = "openssl-bin"')
        self.edit('recipes-security/parsec-tool/parsec-tool_0.1.0.bb',
                  'FILES:${PN}-tests = "${bindir}/parsec-cli-tests.sh"', '')
        self.assertFails(r'parsec-cli-tests.sh is not in FILES:\$\{PN\}-tests.*openssl-bin, which only the test script needs')

    # Issue 15 item 17: the README's modes are the recipe's.
    def test_readme_modes_differ(self):
        self.edit('README.md', '`/etc/parsec` (0750, root:parsec)', '`/etc/parsec` (0700, parsec:parsec)')
        self.assertFails(r'README says /etc/parsec is 0700 parsec:parsec; the recipe installs 0750 root:parsec')

    def test_layer_missing_compat(self):
        self.edit('conf/layer.conf', 'LAYERSERIES_COMPAT_parsec-go', 'LAYERSERIES_COMPAT_parsecgo')
        self.assertFails(r'LAYERSERIES_COMPAT_parsec-go missing')

    def test_layer_dynamic_collection_typo(self):
        self.edit('conf/layer.conf', 'parsec-layer:${LAYERDIR}/meta-parsec/recipes-*/*/*.bbappend',
                  'meta-parsec:${LAYERDIR}/meta-parsec/recipes-*/*/*.bbappend')
        self.assertFails(r'BBFILES_DYNAMIC names unknown collection meta-parsec')

    def test_layer_collection_override_typo(self):
        append(os.path.join(self.root, 'conf/layer.conf'), 'WARN_QA:append:tmp-layer = " patch-status"\n')
        self.assertFails(r'override tmp-layer is not a known collection')

    def test_assignment_without_operator(self):
        self.edit(SERVICE, 'INITSCRIPT_NAME = "parsec"', 'INITSCRIPT_NAME "parsec"')
        self.assertFails(r'syntax .*parsec-service.*unparsable line')

    def test_assignment_without_spaces(self):
        self.edit(SERVICE, 'INITSCRIPT_NAME = "parsec"', 'INITSCRIPT_NAME="parsec"')
        self.assertFails(r'no space around')

    def test_unbalanced_quote(self):
        self.edit(SERVICE, 'INITSCRIPT_NAME = "parsec"', 'INITSCRIPT_NAME = "parsec')
        self.assertFails(r'not one quoted string')

    def test_unbalanced_brace_in_value(self):
        self.edit(SERVICE, 'GO_INSTALL = "${GO_IMPORT}/service', 'GO_INSTALL = "${GO_IMPORT/service')
        self.assertFails(r'unbalanced or malformed')

    def test_broken_inline_python(self):
        self.edit(SERVICE, "'device:/dev/tpmrm0', d)}", "'device:/dev/tpmrm0', d}")
        self.assertFails(r'inline python does not compile')

    def test_unterminated_function(self):
        self.edit(SERVICE, '/tmpfiles.d/parsec.conf\n}\n', '/tmpfiles.d/parsec.conf\n')
        self.assertFails(r'unbalanced braces|no closing')

    def test_shell_syntax_error(self):
        self.edit(SERVICE, '\tfor unit in parsec.service parsec.socket; do',
                  '\tfor unit in parsec.service parsec.socket do')
        self.assertFails(r'shell function do_install')

    def test_old_append_syntax(self):
        append(os.path.join(self.root, SERVICE), 'RDEPENDS_${PN}_append = " bash"\n')
        self.assertFails(r'old override syntax')

    def test_old_function_append(self):
        append(os.path.join(self.root, SERVICE), 'do_install_append() {\n\ttrue\n}\n')
        self.assertFails(r'old override syntax in function')

    def test_missing_file_uri(self):
        os.unlink(os.path.join(self.root, 'recipes-security/parsec-service/files/parsec.socket'))
        self.assertFails(r'file://parsec.socket: file not found')

    def test_installed_file_not_fetched(self):
        self.edit(SERVICE, '    file://parsec.tmpfiles \\\n', '')
        self.assertFails(r'uses parsec.tmpfiles, which SRC_URI does not fetch')

    def test_go_source_dir_missing(self):
        self.edit(INC, 'PARSEC_GO_SRC = "go.mod go.sum LICENSE vendor',
                  'PARSEC_GO_SRC = "go.mod go.sum LICENSE vendor no-such-dir')
        self.assertFails(r'file://no-such-dir: file not found')

    def test_wrong_license_md5(self):
        self.edit(INC, 'LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57',
                  'LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd58')
        self.assertFails(r'LICENSE: md5 3b83ef96387f14655fc854ddc3c6bd58, file has')

    def test_license_file_changed(self):
        append(os.path.join(self.root, 'LICENSE'), 'extra line\n')
        self.assertFails(r'licences .*md5')

    def test_vendored_module_without_licence_entry(self):
        self.edit(INC, 'vendor/golang.org/x/sys/LICENSE', 'vendor/golang.org/x/sys/LICENSE.missing')
        self.assertFails(r'no such file after unpack|vendored module golang.org/x/sys')

    def test_unknown_spdx(self):
        self.edit(INC, 'BSD-3-Clause ${PARSEC_LICENSE_AND} MIT"',
                  'BSD-3-Clause ${PARSEC_LICENSE_AND} MIT ${PARSEC_LICENSE_AND} Apache2"')
        self.assertFails(r'Apache2 is not a known SPDX id')

    def test_pie_not_removed(self):
        self.edit(INC, 'GOBUILDFLAGS:remove = "-buildmode=pie"\n', '')
        self.assertFails(r'keeps -buildmode=pie')

    def test_linkshared_kept(self):
        self.edit(INC, 'GO_LINKSHARED = ""\n', '')
        self.assertFails(r'GO_LINKSHARED is not empty')

    def test_cgo_enabled(self):
        self.edit(INC, 'export CGO_ENABLED = "0"', 'CGO_ENABLED = "1"')
        self.assertFails(r'CGO_ENABLED')

    def test_go_install_not_a_command(self):
        self.edit(SERVICE, 'GO_INSTALL = "${GO_IMPORT}/service/cmd/parsec ',
                  'GO_INSTALL = "${GO_IMPORT}/service/cmd/parsecd ')
        self.assertFails(r'not a main package')

    def test_go_line_too_new(self):
        self.edit('go.mod', 'go 1.22', 'go 1.23')
        self.assertFails(r'go 1.23 is newer')

    def test_toolchain_line(self):
        append(os.path.join(self.root, 'go.mod'), '\ntoolchain go1.24.0\n')
        self.assertFails(r'toolchain go1.24.0')

    def test_meta_parsec_appends_rust_recipe(self):
        with open(os.path.join(self.root, 'meta-parsec/recipes-core/images/parsec-service_%.bbappend'), 'w') as f:
            f.write('PACKAGECONFIG = "TPM"\n')
        self.assertFails(r'appends parsec-service')

    def test_oeqa_module_named_parsec(self):
        shutil.copy(os.path.join(self.root, 'lib/oeqa/runtime/cases/parsec_go.py'),
                    os.path.join(self.root, 'lib/oeqa/runtime/cases/parsec.py'))
        self.assertFails(r'parsec.py clashes')

    def test_unknown_class(self):
        self.edit(SERVICE, 'inherit update-rc.d systemd', 'inherit update-rcd systemd')
        self.assertFails(r'inherit of unknown class update-rcd')

    # PACKAGECONFIG -> Go build tags -> providers linked.

    def test_provider_tag_misspelt(self):
        self.edit(SERVICE, "'parsec_no_tpm'", "'parsec_no_tmp'")
        self.assertFails(r'GOBUILDFLAGS has tag parsec_no_tmp, which no //go:build line')

    def test_provider_tags_swapped(self):
        self.edit(SERVICE, "contains('PACKAGECONFIG', 'TPM', '', 'parsec_no_tpm', d)",
                  "contains('PACKAGECONFIG', 'TS', '', 'parsec_no_tpm', d)")
        self.assertFails(r'PACKAGECONFIG "MBED-CRYPTO TPM" .*service/provider/tpm is not linked',
                         funcs=(provider_tags_go,))

    def test_provider_tags_not_passed(self):
        drop_tags_line(os.path.join(self.root, SERVICE))
        self.assertFails(r'PACKAGECONFIG "MBED-CRYPTO" .*service/provider/tpm is linked',
                         funcs=(provider_tags_go,))

    def test_go_file_without_constraint(self):
        self.edit('service/cmd/parsec/providers_trustedservice.go',
                  '//go:build !parsec_no_trustedservice\n', '')
        self.assertFails(r'PACKAGECONFIG "MBED-CRYPTO TPM" .*service/provider/trustedservice is linked',
                         funcs=(provider_tags_go,))

    def test_provider_tags_pristine(self):
        self.assertEqual(run_checks(self.root, provider_tags_go), [])

    def test_vendor_out_of_sync(self):
        vendored = os.path.join(self.root, 'vendor', 'golang.org', 'x', 'sys', 'unix')
        victim = sorted(f for f in os.listdir(vendored) if f.endswith('.go'))[0]
        append(os.path.join(vendored, victim), '\n// local edit\n')
        self.assertFails(r'vendor/ in sync with go.mod', funcs=(check_layer.check_vendor_sync,))

    def test_vendor_missing_module(self):
        shutil.rmtree(os.path.join(self.root, 'vendor', 'github.com', 'pelletier'))
        self.assertFails(r'vendor/ in sync with go.mod', funcs=(check_layer.check_vendor_sync,))

    def test_vendor_pristine_in_sync(self):
        self.assertEqual(run_checks(self.root, check_layer.check_vendor_sync), [])


class BrokenInitScript(unittest.TestCase):
    """The init script lint (sh -n, busybox sh -n, shellcheck) must catch
    shell errors."""

    def test_syntax_error_caught(self):
        root = tempfile.mkdtemp(prefix='yocto-check-init-')
        try:
            d = os.path.join(root, 'recipes-security', 'parsec-service', 'files')
            os.makedirs(d)
            src = open(os.path.join(ROOT, 'recipes-security/parsec-service/files/parsec.init')).read()
            with open(os.path.join(d, 'parsec.init'), 'w') as f:
                f.write(src.replace('esac\n', '', 1))
            fails = run_checks(root, lambda r, res: check_layer.check_shell_scripts(r, res))
            self.assertTrue(fails, msg='broken init script passed')
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def test_bashism_caught(self):
        if not shutil.which('shellcheck') and not shutil.which('busybox'):
            self.skipTest('no shellcheck or busybox')
        root = tempfile.mkdtemp(prefix='yocto-check-init-')
        try:
            d = os.path.join(root, 'recipes-security', 'parsec-service', 'files')
            os.makedirs(d)
            src = open(os.path.join(ROOT, 'recipes-security/parsec-service/files/parsec.init')).read()
            with open(os.path.join(d, 'parsec.init'), 'w') as f:
                f.write(src.replace('if [ ! -r "$PARSEC_CONFIG" ]; then',
                                    'if [[ ! -r "$PARSEC_CONFIG" ]]; then'))
            fails = run_checks(root, lambda r, res: check_layer.check_shell_scripts(r, res))
            self.assertTrue(fails, msg='bash-only [[ ]] passed')
        finally:
            shutil.rmtree(root, ignore_errors=True)


class BrokenStaging(unittest.TestCase):
    """The staging install must fail when do_install produces a different
    tree (wrong mode) than expected."""

    def test_wrong_mode_caught(self):
        root = tempfile.mkdtemp(prefix='yocto-check-stage-')
        try:
            copy_layer(root)
            p = os.path.join(root, SERVICE)
            text = open(p).read()
            assert 'install -m 0640 -o root -g parsec ${PARSEC_CONFIG}' in text
            with open(p, 'w') as f:
                f.write(text.replace('install -m 0640 -o root -g parsec ${PARSEC_CONFIG}',
                                     'install -m 0644 -o parsec -g parsec ${PARSEC_CONFIG}'))
            r = subprocess.run([sys.executable, os.path.join(root, 'scripts/yocto-check/stage_install.py'),
                                p, '--expect', os.path.join(root, 'scripts/yocto-check/expected/parsec-service.tree')],
                               capture_output=True, text=True, env=dict(os.environ, YOCTO_CHECK_LAYER=root))
            self.assertNotEqual(r.returncode, 0, msg=r.stdout)
            self.assertRegex(r.stdout, r'FAIL: .*config.toml is f 0644 parsec parsec, expected f 0640')
        finally:
            shutil.rmtree(root, ignore_errors=True)

    # Without the tags the recipe derives, a PACKAGECONFIG without TS still
    # links the Trusted Services provider: the built binary shows it.
    def test_provider_left_in_caught(self):
        root = tempfile.mkdtemp(prefix='yocto-check-stage-')
        try:
            copy_layer(root)
            p = os.path.join(root, SERVICE)
            drop_tags_line(p)
            r = subprocess.run([sys.executable, os.path.join(root, 'scripts/yocto-check/stage_install.py'),
                                p, '--packageconfig', 'MBED-CRYPTO TPM'],
                               capture_output=True, text=True, env=dict(os.environ, YOCTO_CHECK_LAYER=root))
            self.assertNotEqual(r.returncode, 0, msg=r.stdout)
            self.assertRegex(r.stdout, r'FAIL: .*providers linked match PACKAGECONFIG: '
                             r'.*service/provider/trustedservice is linked')
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    unittest.main(verbosity=2)
