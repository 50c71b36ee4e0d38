"""In-tree PEP 517 build backend written by tufpip's test-repository generator.

It needs nothing but the Python standard library, so pip can build this
sdist with --no-index and no network: pyproject.toml lists no build
requirements and points backend-path at this directory. The wheel it
builds holds the import package next to this file and a dist-info made
from PKG-INFO.
"""

import base64
import hashlib
import os
import re
import tarfile
import zipfile

_HERE = os.path.dirname(os.path.abspath(__file__))
_WHEEL = (
    "Wheel-Version: 1.0\n"
    "Generator: tufpip-repogen-backend\n"
    "Root-Is-Purelib: true\n"
    "Tag: py3-none-any\n"
)
_DATE = (2020, 1, 1, 0, 0, 0)


def _pkg_info():
    with open(os.path.join(_HERE, "PKG-INFO"), encoding="utf-8") as f:
        text = f.read()
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return text, fields["Name"], fields["Version"]


def _dist_name(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def _dist_info(text, name, version):
    dist_info = "%s-%s.dist-info" % (_dist_name(name), version)
    files = [
        (dist_info + "/METADATA", text.encode("utf-8")),
        (dist_info + "/WHEEL", _WHEEL.encode("utf-8")),
    ]
    return dist_info, files


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    text, name, version = _pkg_info()
    dist_info, files = _dist_info(text, name, version)
    for arcname, data in files:
        target = os.path.join(metadata_directory, *arcname.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    text, name, version = _pkg_info()
    package = _dist_name(name)
    entries = []
    for root, dirs, files in os.walk(os.path.join(_HERE, package)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for filename in sorted(files):
            full = os.path.join(root, filename)
            arcname = os.path.relpath(full, _HERE).replace(os.sep, "/")
            with open(full, "rb") as f:
                entries.append((arcname, f.read()))
    dist_info, meta = _dist_info(text, name, version)
    entries.extend(meta)
    record = []
    for arcname, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append("%s,sha256=%s,%d" % (arcname, digest.decode("ascii"), len(data)))
    record.append(dist_info + "/RECORD,,")
    entries.append((dist_info + "/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    wheel_name = "%s-%s-py3-none-any.whl" % (package, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w") as zf:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=_DATE)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    _, name, version = _pkg_info()
    base = "%s-%s" % (_dist_name(name), version)
    sdist_name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, sdist_name), "w:gz") as tf:
        for root, dirs, files in os.walk(_HERE):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for filename in sorted(files):
                full = os.path.join(root, filename)
                tf.add(full, arcname=base + "/" + os.path.relpath(full, _HERE).replace(os.sep, "/"))
    return sdist_name
