"""Personal data out of text before anything is stored.

Kinds, each replaced by a marker (``[EMAIL]`` ...):

- ``email``: addresses, by pattern;
- ``phone``: numbers Google's libphonenumber (the ``phonenumbers`` package) recognises as
  possible numbers, tried as written and under the usual regions, plus international
  ``+CC`` forms it does not know;
- ``card``: 13–19 digit numbers (spaces or dashes allowed) that pass the Luhn check;
- ``iban``: IBANs whose mod-97 check digits are right, compact or in groups of four;
- ``ip``: IPv4 and IPv6 addresses the standard library's ``ipaddress`` accepts;
- ``address``: street lines (a house number with a street word: "221B Baker Street",
  "Hauptstraße 5", "12 rue de la Paix") and postcode-plus-city that follow them;
- ``name``: person names **only where the text says it is a name**: "my name is …", "I'm
  …", "call me …", honorifics ("Dr. …", "Mrs. …"), relations ("my wife …"), sign-offs
  ("Thanks, …", "Regards, …"). No offline library detects names anywhere in free text
  without downloading a model, so a bare name in the middle of a sentence is not covered.

Recall per kind is measured on ``tests/monitor/redaction_cases.jsonl`` (the test asserts at
least 95% for the structured kinds: email, phone, card, iban, ip).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

KINDS = ("email", "phone", "card", "iban", "ip", "address", "name")
MARK = {k: f"[{k.upper()}]" for k in KINDS}

_EMAIL = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+\b")
_CARD = re.compile(r"(?<![\d])(?:\d[ \-]?){12,18}\d(?![\d])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,32}")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![:\w])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![:\w])")
_NOT_PHONE = re.compile(
    r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}\s?[-–]\s?\d{4}"
)
_PHONE_CANDIDATE = re.compile(r"(?:\+|\b00)?\(?\d[\d ().\-/]{6,}\d")
_STREET_WORDS = (
    r"street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|drive|dr|way|court|ct|place|pl|terrace|close|"
    r"crescent|parkway|pkwy|highway|hwy|square|sq|gardens|grove|row|walk|mews|hill|quay|embankment|"
    r"esplanade|parade|circus|broadway|park|view|heights|green|trail|loop|pike|alley|wharf|cres|tce"
)
_DIRECTION = r"(?:\s+(?:north|south|east|west|upper|lower|n|s|e|w|ne|nw|se|sw)\b\.?)?"
_UNIT = r"(?:flat|apt|apartment|unit|suite|ste|room|floor|fl|bldg|building)\.?\s*#?\w{1,5}"
# "Flat 2, 14 Mill Road", "221B Baker Street", "90 Queen Street West, Suite 400"
# The street's name must be capitalised ("200 g dried green lentils" is no address); the street word may not be.
_STREET_EN = re.compile(
    rf"\b(?:(?i:{_UNIT}),?\s+)?\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'\-]*\.?\s+){{1,4}}"
    rf"(?i:{_STREET_WORDS})\b\.?(?i:{_DIRECTION})(?:,?\s+(?i:{_UNIT})\b)?"
)
# "Khreshchatyk St, 22", "Main Street 5"
_STREET_EN_AFTER = re.compile(
    r"\b(?:[A-Z][\w'\-]*\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Boulevard|Blvd)\.?,?\s+"
    r"\d{1,4}[a-z]?\b"
)
# "Hauptstraße 5", "Keizersgracht 410-2", "Drottninggatan 12", "Am Kanal 3"
_STREET_SUFFIXED = re.compile(
    r"\b[A-ZÄÖÜÅÆØ][\wäöüßåæø\-]*(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|straat|laan|gracht|"
    r"kade|singel|plein|dijk|steeg|gatan|gata|gade|vej|vägen|veien|katu|tie)\s+\d{1,4}[a-z]?(?:-\d{1,4})?\b"
    r"|\b(?:Am|An der|Auf dem|Auf der|Im|In der|Zum|Zur|Unter den)\s+[A-ZÄÖÜ][\wäöüß\-]+\s+\d{1,4}[a-z]?\b"
)
# A floor and door after a Spanish or Catalan street number: "15, 3º B", "33, 2n 1a"
_FLOOR = r"(?:,?\s*\d{1,2}\s?(?:º|°|ª|o|n|r|t)?\s?(?:[A-Z]|\d[aª])?\b)?"
_STREET_ROMANCE = re.compile(
    r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|impasse|allée|quai|calle|avenida|"
    r"plaza|paseo|via|viale|piazza|corso|rua|travessa)\s+(?:(?:de|del|de la|des|du|di|della|dei|la|le|les)\s+)?"
    r"[\wÀ-ÿ'\-]+(?:\s+[A-ZÀ-Ý][\wÀ-ÿ'\-]*){0,3}",
    re.I,
)
_STREET_ROMANCE_AFTER = re.compile(
    r"(?:\b(?:calle|avenida|via|viale|piazza|corso|rua|plaza|paseo|carrer|avinguda|passeig|rambla|travessera)|"
    rf"\bC/)\s*(?:[\wÀ-ÿ'\-]+\s+){{1,4}}\d{{1,4}}\b{_FLOOR}",
    re.I,
)
_STREET_JP = re.compile(r"\b\d{1,4}-\d{1,4}(?:-\d{1,4})?\s+[A-Z][a-z]+(?:-[a-z]+)?\b")  # "3-2-1 Jingumae"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}"
_CA_POSTCODE = r"[A-Z]\d[A-Z]\s\d[A-Z]\d"
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|"
    "ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
_CITY = r"[A-Z][\wÀ-ÿ\-]+(?:\s[A-Z][\wÀ-ÿ\-]+){0,2}"
# Postcodes distinctive enough to find anywhere, with the city before them: "Leeds LS8 1AB", "Toronto, ON M5H 2N2".
_POSTCODE_ANYWHERE = re.compile(
    rf"\b(?:{_CITY},?\s+)?(?:{_UK_POSTCODE}|(?:[A-Z]{{2}}\s+)?{_CA_POSTCODE})\b"
    rf"|\b{_CITY},\s+(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?\b"  # "Portland, OR 97205"
)
# What may follow a street line, segment by segment: "10115 Berlin", "1016 GC Amsterdam", "Bengaluru 560001",
# "Dublin 7", "Wan Chai", "Tokyo".
_ADDRESS_TAIL = re.compile(
    rf"[ \t]*,?[ \t]*(?:\d{{4,6}}(?:-\d{{3,4}})?(?:\s?[A-Z]{{2}}\b)?(?:\s+{_CITY})?"
    rf"|{_CITY}(?:,?\s+(?:[A-Z]{{2}}\s+)?(?:\d{{1,6}}(?:-\d{{4}})?|{_UK_POSTCODE}|{_CA_POSTCODE}))?(?=\s*(?:[,.;:\n]|$)))"
)
# A name word: letters in any script, with inner apostrophes or hyphens (O'Connor, Al-Farsi, Nguyễn).
# Case is checked in code (Python's re has no "uppercase letter in any script" class).
_WORD = r"[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*"
_NAME = rf"{_WORD}(?:[ \t]+{_WORD}){{0,4}}"
_HONORIFIC = (
    r"(?:mr|mrs|ms|miss|mx|dr|prof|professor|chef|sir|madam|dame|lady|lord|herr|frau|sr|sra|señor|señora|mme|mlle|m)"
)
_RELATION = (
    r"wife|husband|partner|son|daughter|mum|mom|mother|dad|father|brother|sister|friend|boss|colleague|"
    r"coworker|co-worker|neighbour|neighbor|grandma|grandmother|granny|nan|nana|grandpa|grandfather|aunt|uncle|"
    r"cousin|niece|nephew|boyfriend|girlfriend|fiancé|fiancée|fiance|fiancee|flatmate|roommate|housemate|"
    r"teacher|doctor|kid|child|baby|nanny|carer|caregiver|cleaner|landlord|landlady|tenant|manager|assistant|"
    r"guest|client|customer|student|dietitian|nutritionist|trainer|coach"
)
_SIGN_OFF = (
    r"thanks|thank you|many thanks|cheers|regards|best|best wishes|best regards|kind regards|warm regards|"
    r"love|sincerely|yours|yours truly|take care|danke|vielen dank|grüße|gruß|merci|cordialement|gracias|"
    r"saludos|grazie|saluti|obrigad[oa]|bedankt|groeten|tack|hälsningar|xoxo|xx|thx|ta|mvh|hilsen|kiitos|"
    r"terveisin|děkuji|dziękuję|pozdrawiam|köszönöm|aub|bvd|mfg|lg|vg|atentamente|un saludo|abraços|"
    r"abrazos|besos|bises|bisous|a presto|cumprimentos|with thanks|kind wishes|all the best"
)
_POSSESSIVE = (
    r"(?:my|our|his|her|their|your|mein|meine|meinem|meiner|mi|mis|mon|ma|mes|meu|minha|mijn|min|mitt|mia|mio)"
)
# (strict, pattern). The cue is matched in any case; what follows is a name only while its words are capitalised.
# strict: the cue places the name's end too, so every word up to it must be capitalised; 2: and at least two words
# (a line that opens "Great, thanks" is no name).
_NAME_CONTEXTS = [
    (
        False,
        re.compile(
            rf"\b(?i:my name is|my name's|name's|i am|i'm|im|call me|this is|it's|it is|signed|je m'appelle|"
            rf"je suis|moi c'est|me llamo|mi nombre es|soy|sono|mi chiamo|sou a|sou o|sou|me chamo|ich bin|"
            rf"ich heiße|mein name ist|ik ben|mijn naam is|jag heter|jeg heter|jeg er)\s+"
            rf"(?:(?i:{_HONORIFIC})\.?\s+)?({_NAME})"
        ),
    ),
    (False, re.compile(rf"\b(?i:{_HONORIFIC})\.?\s+({_NAME})")),
    (
        False,
        re.compile(
            rf"\b(?i:{_POSSESSIVE})\s+(?i:{_RELATION}|kollege|kollegin|freund|freundin|amigo|amiga|ami|amie|"
            rf"collègue|collega|amico|vriend|vriendin|collega)\s*,?\s+({_NAME})"
        ),
    ),
    (
        True,
        re.compile(rf"^[ \t]*(?i:{_SIGN_OFF})[ \t]*[,!.]?[ \t]*\n?[ \t]*(?:-+\s*)?({_NAME})[ \t]*[.!]?[ \t]*$", re.M),
    ),
    # A sign-off, then the name at the end of the text or before contact details: "Hilsen Ingrid Halvorsen, Karl ..."
    (
        True,
        re.compile(
            rf"\b(?i:{_SIGN_OFF})[ \t]*[,!.]?[ \t]*(?:[-–—]+\s*)?({_NAME})(?=[ \t]*(?:$|[,.;(+|•]|\s+(?i:tel|ph|"
            rf"phone|mob|mobile)\b))",
            re.M,
        ),
    ),
    # A line (or a bullet) that opens with a name, then contact details: "Sophie Laurent • sophie@...",
    # "Lena Hoffmann,lena.h@...", "Jack Nguyen | Sydney"; a dash, then a name ending its line: "— Marcus Oyelaran"
    (2, re.compile(rf"(?:^|(?<=[—–•|]))[ \t]*({_NAME})(?=[ \t]*(?:[|•<(]|,[ \t]*(?:[\w.+\-]+@|\+?\d)))", re.M)),
    (2, re.compile(rf"[—–•|][ \t]*({_NAME})(?=[ \t]*(?:$|[,|•(<]))", re.M)),
    (
        True,
        re.compile(
            rf"\b(?i:ask for|talk to|speak to|speak with|dear|hi|hello|hey|hola|bonjour|ciao|hallo|hej|olá|"
            rf"address(?:ed)? (?:\w+ ){{0,3}}to|deliver(?:y|ed)? (?:\w+ ){{0,3}}(?:to|for)|made out to|payable to|"
            rf"on behalf of|chiedete di|chiedi di|pregunta por|preguntar por|demandez|fragen sie nach|"
            rf"booking for|reservation for|reserved for|table for|c/o|attn\.?|user|member)\s+({_NAME})"
            rf"(?=\s*[,.!?:;<(\n]|\s+(?:and|at|who|from|here|on|in)\b)"
        ),
    ),
    (True, re.compile(rf"^(?i:from)[ \t]+({_NAME})(?=[ \t]*[:,<(])", re.M)),
    # "Account holder Camille Girard", "Name on card: ...", "Kontoinhaber: ..."
    (
        False,
        re.compile(
            rf"(?i:\b(?:full name|name on (?:the )?card|card ?holder|account ?holder|account name|kontoinhaber(?:in)?|"
            rf"titular|titulaire|intestatario|beneficiary))\b[ \t]*:?[ \t]*({_NAME})"
        ),
    ),
    # Form fields need their colon: "Name: ...", "From: Lars Eriksen <...>", "Customer: ..."
    (
        False,
        re.compile(
            rf"(?i:\b(?:name|nombre|nom|naam|nome|from|to|customer|client|guest|contact|attn|attention|"
            rf"recipient|signed|sender|sign-up|signup|registration|booking|reservation|lieferadresse|"
            rf"empfänger|destinataire|destinatario|ship to|bill to))[ \t]*[:=][ \t]*({_NAME})"
        ),
    ),
    (
        False,
        re.compile(
            rf"\b(?i:a nombre de|à l'ordre de|au nom de|op naam van|auf den namen|intestat[oa] a|em nome de|"
            rf"t\.n\.v\.|ten name van|meu nome é|o meu nome é|mi nombre es|je m'appelle)\s+({_NAME})"
        ),
    ),
    # A name in brackets next to contact details: "+351 912 345 678 (Mateus Conceição)"
    (True, re.compile(rf"(?<=\d\s\()({_NAME})(?=\))")),
    # "Björn Lindqvist here.", "Aisha Bello speaking", "Hiroshi Tanaka desu"
    (True, re.compile(rf"(?:^|(?<=[!.?,:;]\s)|(?<=\n))({_NAME})[ \t]+(?i:here|speaking|desu|hier|ici)\b", re.M)),
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Capitalised words after a name cue that are not names ("I'm Vegan", "this is Pad Thai").
_NOT_NAMES = _words(
    "vegan vegetarian allergic sorry sure hungry new not looking trying planning going so very just also "
    "here there the a an it this that my our monday tuesday wednesday thursday friday saturday sunday "
    "january february march april may june july august september october november december english french "
    "italian german spanish indian chinese japanese thai mexican london paris berlin madrid rome pad beef "
    "caesar chicken tofu gluten dairy keto celiac coeliac mr mrs ms miss mx dr prof professor chef sir "
    "madam dame lady lord i we you he she they me us them christmas easter thanksgiving diwali eid "
    "ramadan hanukkah passover halloween lent veganuary today tomorrow tonight yesterday please thanks "
    "hello hi everyone all team guys folks mom mum dad grandma grandpa everybody someone anyone nobody "
    "what when where which who how why is are can could would should do does did will if and or but for "
    "with from to at in on of by as no yes ok okay re fw fwd monday's breakfast lunch dinner brunch "
    "supper vegans vegetarians recipe recipes order booking delivery payment refund invoice account card "
    "phone email address subject date time york usa uk eu america europe asia africa canada australia "
    "india china japan france germany spain italy mexico brazil ireland i'm i’m i'd i'll i've it's that's "
    "there's here's veganer veganerin vegano vegana végane végétalien végétalienne végétarien vegetariano "
    "vegetariana vegetarier muslim hindu jewish christian catholic buddhist sikh jain orthodox mormon "
    "atheist ashkenazi sephardi african american british irish scottish welsh canadian australian "
    "ethiopian nigerian kenyan ghanaian egyptian moroccan korean vietnamese filipino indonesian malaysian "
    "pakistani bangladeshi nepali tibetan persian iranian turkish greek lebanese israeli palestinian "
    "syrian russian ukrainian polish swedish norwegian danish finnish dutch belgian swiss austrian "
    "portuguese brazilian argentinian peruvian colombian chilean cuban jamaican haitian caribbean inuk "
    "inuit native indigenous latino latina latinx asian european nordic arab punjabi gujarati tamil "
    "bengali sicilian neapolitan texan southern northern strictly generally honestly technically broadly "
    "roughly frankly legally medically historically practically nutritionally ethically biologically "
    "loosely personally professionally auntie uncle you're play be many some most president diabetic "
    "pregnant lactose intolerant pescatarian plant flexitarian menopause "
)
# Which kind wins where two overlap: the ones checked by checksum or strict syntax first.
_PRECEDENCE = ("email", "iban", "card", "ip", "address", "phone", "name")


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int


def _luhn(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def _phones(text: str) -> list[Span]:
    import phonenumbers

    spans = []
    candidates = list(_PHONE_CANDIDATE.finditer(text))
    # libphonenumber reads only the stretches that could hold a number (ten regions over a whole message cost
    # more than everything else the redactor does), each with a little context for "+", "(" and "tel:".
    for cand in candidates:
        lo, hi = max(0, cand.start() - 4), min(len(text), cand.end() + 2)
        window = text[lo:hi]
        for region in (None, "US", "GB", "DE", "FR", "IN", "ES", "IT", "NL", "AU"):
            try:
                matcher = phonenumbers.PhoneNumberMatcher(
                    window, region or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE
                )
                spans += [Span("phone", lo + m.start, lo + m.end) for m in matcher]
            except Exception:  # a malformed stretch of text: try the next region
                continue
    for m in candidates:  # "+CC ..." forms libphonenumber does not place
        digits = re.sub(r"\D", "", m.group(0))
        if m.group(0).startswith(("+", "00")) and 8 <= len(digits) <= 15:
            spans.append(Span("phone", m.start(), m.end()))

    # A phone number has at least seven digits; an order number (#45821), a version (3.11.7) or a date is not one.
    # Arithmetic ("(350 - 32) x 5/9") and ratios ("1000/6000 grit") are not numbers to call; nor is a number
    # inside a code ("1Z999AA1...", "0x8007...", "INV-DE-2024-00187"), a bare 12+ digit run (an EAN barcode) or
    # one labelled as a book, barcode or parcel number.
    def plausible(s: Span) -> bool:
        number, before, after = text[s.start : s.end], text[max(0, s.start - 12) : s.start], text[s.end : s.end + 1]
        if re.search(r"\s[-–]\s|/|\sx\s|^0x", number) or after.isalnum() or re.search(r"[A-Za-z][\w\-]*-?$", before):
            return False
        labelled = re.search(r"(?i)\b(?:isbn|ean|upc|gtin|tracking|sku)\b[^\d]*$", before)
        return not (re.fullmatch(r"\d{12,}", number) or labelled)

    spans = [s for s in spans if plausible(s)]
    return [
        s
        for s in spans
        if len(re.sub(r"\D", "", text[s.start : s.end])) >= 7
        and not text[: s.start].endswith("#")
        and not _NOT_PHONE.fullmatch(text[s.start : s.end].strip())
    ]


_PARTICLES = _words("de van von der den da das do dos del della di du le la bin binti al el ben ter ten y e af zu")


def _name_span(text: str, start: int, candidate: str, strict: bool | int) -> Span | None:
    """The capitalised run at the head of ``candidate`` (particles inside it allowed), or None.

    ``strict``: the cue placed the name's end too ("Thanks,\nAna Ruiz" at a line's end), so
    every word must be part of it ("Thanks, that helped" is no name).
    """
    words = re.findall(r"\S+", candidate)
    following = text[start + len(candidate) : start + len(candidate) + 2]
    if following.startswith(("'s", "’s")) or any(w.endswith(("'s", "’s")) for w in words[:1]):
        return None  # a possessive after the cue is a brand or a place ("Dr. Bronner's", "Mrs. Crimble's")
    if not words or (following[:1].isalnum() and len(words) == 1) or len(words[0]) < 2:
        return None  # a name cut inside a token ("D3"), or a single letter
    taken: list[str] = []
    for word in words:
        capitalised = word[0].isupper() and not (len(word) > 1 and word.isupper())  # not an acronym ("TVP")
        if (capitalised and word.lower() not in _NOT_NAMES) or (word.lower() in _PARTICLES and taken):
            taken.append(word)
        else:
            break
    if strict and (len(taken) < len(words) or len(taken) < (2 if strict == 2 else 1)):
        return None
    while taken and taken[-1].lower() in _PARTICLES:
        taken.pop()
    if not taken:
        return None
    end = start + len(" ".join(taken)) if " ".join(taken) == candidate[: len(" ".join(taken))] else None
    if end is None:  # tabs or double spaces between the words: find the end of the last one taken
        end = start
        for word in taken:
            end = text.index(word, end) + len(word)
    return Span("name", start, end)


_LIST_LABEL = re.compile(
    r"\b(?i:attendees|participants|guests|invitees|names|people|members|passengers)[ \t]*:[ \t]*"
    r"([^\n]+)"
)
_NAME_COLUMNS = _words(
    "name full_name fullname customer customer_name contact contact_name attendee guest "
    "first_name last_name surname recipient nombre nom naam "
)


def _listed_names(text: str) -> list[Span]:
    """Names in a labelled list ("Attendees: A B, C D and E F") and in CSV columns headed name/customer/..."""
    spans = []
    for m in _LIST_LABEL.finditer(text):
        offset = m.start(1)
        for part in re.finditer(r"[^,;&]+", m.group(1)):
            for piece in re.split(r"\s+(?:and|und|et|y|e|en|og|och)\s+", part.group(0)):
                at = text.index(piece, offset + part.start()) if piece else -1
                words = piece.strip()
                if words:
                    span = _name_span(text, text.index(words, at), words, True)
                    if span is not None:
                        spans.append(span)
    lines, pos, columns, width = text.split("\n"), 0, [], 0
    for line in lines:
        fields = line.split(",")
        header = [f.strip().lower().replace(" ", "_") for f in fields]
        if len(fields) >= 2 and all(re.fullmatch(r"[a-z_ ]{1,30}", h) for h in header) and _NAME_COLUMNS & set(header):
            columns, width = [i for i, h in enumerate(header) if h in _NAME_COLUMNS], len(fields)
        elif columns and len(fields) == width:
            start = pos
            for i, field in enumerate(fields):
                value = field.strip()
                if i in columns and value and value[0].isupper():
                    spans.append(Span("name", start + field.index(value), start + field.index(value) + len(value)))
                start += len(field) + 1
        else:
            columns = []
        pos += len(line) + 1
    return spans


def _names_above_addresses(text: str, addresses: list[Span]) -> list[Span]:
    """An address block's first line: "Shipping address:\nEmily Thompson\n3048 Maple Ave"."""
    spans = []
    for address in addresses:
        line_start = text.rfind("\n", 0, address.start) + 1
        if text[line_start : address.start].strip():
            continue  # the street does not open its line
        above_end = line_start - 1
        above_start = text.rfind("\n", 0, max(0, above_end)) + 1
        line = text[above_start:above_end] if above_end > 0 else ""
        stripped = line.strip().rstrip(",")
        if stripped and re.fullmatch(_NAME, stripped):
            span = _name_span(text, above_start + line.index(stripped), stripped, 2)
            if span is not None:
                spans.append(span)
    return spans


def find(text: str) -> list[Span]:
    """Every personal-data span in ``text``, overlaps resolved (earlier, then longer, wins)."""
    spans: list[Span] = [Span("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for m in _IBAN.finditer(text):
        # The candidate may run into the next word ("... 7041 REF"): the longest prefix that checks out is the IBAN.
        candidate = m.group(0)
        for end in range(len(candidate), 14, -1):
            if candidate[end - 1] != " " and _iban_ok(candidate[:end]):
                spans.append(Span("iban", m.start(), m.start() + end))
                break
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and _luhn(digits):
            spans.append(Span("card", m.start(), m.end()))
    for rx in (_IPV4, _IPV6):
        for m in rx.finditer(text):
            try:
                ipaddress.ip_address(m.group(0).split("%")[0])
            except ValueError:
                continue
            spans.append(Span("ip", m.start(), m.end()))
    street_rx = (_STREET_EN, _STREET_EN_AFTER, _STREET_SUFFIXED, _STREET_ROMANCE, _STREET_ROMANCE_AFTER, _STREET_JP)
    for m in (m for rx in street_rx for m in rx.finditer(text)):
        end = m.end()
        for _ in range(3):  # up to three comma-separated parts after the street: postcode, city, district
            tail = _ADDRESS_TAIL.match(text, end)
            if not tail or tail.end() == end or not tail.group(0).strip(" ,\t"):
                break
            end = tail.end()
        spans.append(Span("address", m.start(), end))
    spans += [Span("address", m.start(), m.end()) for m in _POSTCODE_ANYWHERE.finditer(text)]
    spans += _phones(text)
    spans += _listed_names(text)
    spans += _names_above_addresses(text, [s for s in spans if s.kind == "address"])
    for strict, rx in _NAME_CONTEXTS:
        for m in rx.finditer(text):
            span = _name_span(text, m.start(1), m.group(1), strict)
            if span is not None:
                spans.append(span)
    # Parts of one address found by different patterns (a street with its city, a "City, ST 12345") join up.
    addresses = sorted((s for s in spans if s.kind == "address"), key=lambda s: s.start)
    merged: list[Span] = []
    for span in addresses:
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span("address", merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    spans = [s for s in spans if s.kind != "address"] + merged
    # Resolve overlaps: structured kinds first (an email's local part is not a name), then by length.
    order = {k: i for i, k in enumerate(_PRECEDENCE)}
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (order[s.kind], -(s.end - s.start), s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def redact(text: str) -> str:
    """``text`` with every personal-data span replaced by its kind's marker."""
    if not text:
        return text
    out, last = [], 0
    for span in find(text):
        out.append(text[last : span.start])
        out.append(MARK[span.kind])
        last = span.end
    out.append(text[last:])
    return "".join(out)
