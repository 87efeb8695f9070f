"""Digest authentication as a client computes it (RFC 7616, RFC 8760),
with hashlib: challenges parsed, Authorization headers made."""
import hashlib
import re

ALGS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_challenge(value):
    """The parameters of a Digest challenge or credentials value."""
    scheme, _, rest = value.partition(" ")
    assert scheme == "Digest", value
    params = {}
    for m in re.finditer(r'([A-Za-z-]+)\s*=\s*("([^"]*)"|[^,\s]+)', rest):
        params[m.group(1).lower()] = (m.group(3) if m.group(3) is not None
                                      else m.group(2))
    return params


def hexh(alg, text):
    if isinstance(text, str):
        text = text.encode()
    return ALGS[alg](text).hexdigest()


def credentials(chall, method, uri, user, password, nc=1, cnonce="c0ffee",
                qop="auth", body="", alg=None, realm=None, nonce=None,
                header="Authorization", extra=""):
    """A header line answering a parsed challenge."""
    alg = alg or chall.get("algorithm", "MD5")
    realm = realm if realm is not None else chall["realm"]
    nonce = nonce or chall["nonce"]
    ha1 = hexh(alg, "%s:%s:%s" % (user, realm, password))
    if qop == "auth-int":
        ha2 = hexh(alg, "%s:%s:%s" % (method, uri, hexh(alg, body)))
    else:
        ha2 = hexh(alg, "%s:%s" % (method, uri))
    resp = hexh(alg, "%s:%s:%08x:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop,
                                              ha2))
    line = ('%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=%s, qop=%s, nc=%08x, cnonce="%s"' %
            (header, user, realm, nonce, uri, resp, alg, qop, nc, cnonce))
    if "opaque" in chall:
        line += ', opaque="%s"' % chall["opaque"]
    return line + extra
