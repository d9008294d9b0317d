#!/usr/bin/env python3
"""Marks symbol-version requirements of an ELF shared library as weak (VER_FLG_WEAK) in place.

TorchSharp-cpu 0.107.0's libLibTorchSharp.so was linked against a newer libstdc++ and requires GLIBCXX_3.4.32,
which Debian 12's libstdc++ (up to GLIBCXX_3.4.30) lacks; the only symbol under that version,
std::ios_base_library_init(), is never called. A weak version requirement lets the dynamic loader accept the
library. Only the copy under bin/ is patched (a build step), never the NuGet cache. Idempotent; does nothing
when the version is not required or the file is missing.

usage: weaken-glibcxx.py FILE [VERSION ...]   (default VERSION: GLIBCXX_3.4.32)
"""
import os, struct, sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def patch(path, versions):
    if not os.path.isfile(path):
        print(f"weaken-glibcxx: {path} not found, nothing to patch")
        return 0
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        print(f"weaken-glibcxx: {path} is not a 64-bit little-endian ELF file", file=sys.stderr)
        return 1
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = []
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        name, stype, flags, addr, offset, size, link, info, align, entsize = struct.unpack_from("<IIQQQQIIQQ", data, off)
        sections.append((stype, offset, size, link, info))
    changed = []
    for stype, offset, size, link, info in sections:
        if stype != SHT_GNU_VERNEED:
            continue
        strtab = sections[link][1]
        vn = offset
        for _ in range(info):  # sh_info = number of Verneed entries
            vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, vn)
            aux = vn + vn_aux
            for _ in range(vn_cnt):
                vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                end = data.index(b"\0", strtab + vna_name)
                name = data[strtab + vna_name:end].decode()
                if name in versions and not vna_flags & VER_FLG_WEAK:
                    struct.pack_into("<H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                    changed.append(name)
                if vna_next == 0:
                    break
                aux += vna_next
            if vn_next == 0:
                break
            vn += vn_next
    if changed:
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, os.stat(path).st_mode)
        os.replace(tmp, path)  # a new inode: a hard link into the NuGet cache is never written through
        print(f"weaken-glibcxx: {path}: marked {', '.join(changed)} weak")
    else:
        print(f"weaken-glibcxx: {path}: nothing to change")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(patch(sys.argv[1], set(sys.argv[2:]) or {"GLIBCXX_3.4.32"}))
