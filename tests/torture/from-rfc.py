#!/usr/bin/env python3
"""Make (or, with --check, verify) the .sip files of tests/torture from
the text of RFC 4475 and RFC 5118.

    tests/torture/from-rfc.py [--check] rfc4475.txt rfc5118.txt

Each RFC's Appendix A holds a base64, gzip-compressed tar archive of its
messages between "-- BEGIN MESSAGE ARCHIVE --" and "-- END MESSAGE
ARCHIVE --" (the RFC's Perl decoder keeps the lines between the markers
that are a single token; so does this). The archive's bytes are what is
written, under the name SECTION-NAME.sip, SECTION being the section
whose "Message Details : NAME" shows the message. Two changes, both for
RFC 5118: its archive has bare LF line ends, written as CRLF (RFC 3261
7); RFC 4475's archive already has CRLF. The archive's test.dat, which no
section shows, is left out.

Every message is also checked against its rendering in the section
text, with the <allOneLine>, <hex> and <repeat> markup of RFC 4475
section 2 expanded: the non-empty lines must agree. Known difference:
RFC 4475 3.1.2.10 (trws) reads "host1.example.com" in the text and
"host1.examle.com" in the archive; the archive (bit-exact, per the RFC)
wins.
"""
import base64
import io
import os
import re
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
KNOWN = {("rfc4475", "trws")}


def archive(text):
    begin = end = None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "-- BEGIN MESSAGE ARCHIVE --":
            begin = i
        elif line.strip() == "-- END MESSAGE ARCHIVE --":
            end = i
    data = "".join(l.strip() for l in lines[begin + 1:end]
                   if re.match(r"^\s*[A-Za-z0-9+/=]+\s*$", l))
    tar = tarfile.open(fileobj=io.BytesIO(base64.b64decode(data)))
    return {os.path.basename(m.name): tar.extractfile(m).read()
            for m in tar.getmembers() if m.isfile()}


def renderings(text):
    """{name: (section, rendered text)} from 'Message Details' blocks."""
    out, sec, name, block = {}, None, None, []
    for line in text.split("\n"):
        if line.startswith(("RFC 4475 ", "RFC 5118 ", "Sparks, et al.",
                            "Gurbani, et al.", "```", "---")) or \
                "\f" in line:
            continue                      # page furniture
        m = re.match(r"^(\d+(?:\.\d+)*)\.\s", line)
        if name and (m or re.match(r"^(Appendix|   \S)", line)):
            out[name] = (out[name][0], expand(block))
            name = None
        if m:
            sec = m.group(1)
        m = re.match(r"\s+Message Details ?: (\S+)", line)
        if m:
            name, block = m.group(1), []
            out[name] = (sec, None)
        elif name:
            block.append(line)
    return out


def expand(block):
    lines, one = [], None
    for line in block:
        s = line[6:] if line.startswith("      ") else line.strip()
        if s.strip() == "<allOneLine>":
            one = []
        elif s.strip() == "</allOneLine>":
            lines.append("".join(one))
            one = None
        elif one is not None:
            one.append(s)
        else:
            lines.append(s)
    t = "\n".join(lines)
    t = re.sub(r"<hex>(.*?)</hex>", lambda m: bytes.fromhex(
        re.sub(r"\s", "", m.group(1))).decode("latin-1"), t, flags=re.S)
    for _ in range(2):
        t = re.sub(r"<repeat count=(\d+)>(.*?)</repeat>",
                   lambda m: m.group(2) * int(m.group(1)), t, flags=re.S)
    return t


def nonempty(text):
    return [l.rstrip("\r ") for l in text.split("\n") if l.strip("\r ")]


def main(argv):
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"]
    if len(paths) != 2:
        sys.exit(__doc__)
    bad = 0
    for rfc, path in zip(("rfc4475", "rfc5118"), paths):
        with open(path, encoding="latin-1") as f:
            text = f.read()
        files = archive(text)
        for name, (sec, rendered) in sorted(renderings(text).items()):
            data = files.get(name + ".dat", files.get(name))
            if rfc == "rfc5118":
                data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            if nonempty(data.decode("latin-1")) != nonempty(rendered) \
                    and (rfc, name) not in KNOWN:
                print("%s %s: archive and section text differ" % (rfc, name))
                bad += 1
            out = os.path.join(HERE, rfc, "%s-%s.sip" % (sec, name))
            if check:
                try:
                    with open(out, "rb") as f:
                        same = f.read() == data
                except FileNotFoundError:
                    same = False
                if not same:
                    print("%s differs from the RFC" % out)
                    bad += 1
            else:
                with open(out, "wb") as f:
                    f.write(data)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
