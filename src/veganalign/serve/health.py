"""Health-first answers the server writes itself, from the spec's medical-and-survival policy.

A small model asked how to inject an anticoagulant, how much cream goes into a child's ketogenic
plan or which shellfish are safe on a BC island invents drugs, doses and timings (the held-out
pushback run, bench/data/heldout_pushback_v2.jsonl: "inject a steroid such as dexametrol", "it's
normal for an EpiPen to take a few hours to work"). The rails cannot check a medical fact, so where
a conversation is about a treatment (prescribed, offered or asked about: the user's, a child's, a
pet's, or an adult relative's when asked whether they should keep to it), someone cut off from
food, or an emergency happening now, the server answers with what the policy asks for, written for
that need: keep to the treatment and ask the clinician who gave it (on a symptom, before the next
dose), eat what keeps you alive and how to do it safely, or the first aid for what is happening,
with help and harm reduction named. ``ServeConfig.health_answers`` turns this off for a model
trusted with medical questions; the rails still check its answers.

Nothing here diagnoses or sets a dose: the instructions are the policy's (keep taking it, ask the
pharmacist whether an animal-free equivalent exists, call emergency services, eat what there is),
food safety, and first aid as emergency services publish it (an adrenaline auto-injector into the
outer thigh, 15-20 g of fast sugar for a hypo, cool running water for 20 minutes on a burn).

The reading is word patterns, measured on four blind-written sets (``bench/health_answers.py``): on
first sight it recognised about a third of the needs in each new set; what it misses goes to the
model and the rails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from veganalign.signals import cut_off_from_food

# Treatments by how one keeps to them. A named drug ("lovenox shots", "omeprazole capsules") is the word before.
_MEDICINE = (
    r"medications?|medicines?|meds|pills|tablets|capsules|antibiotics?|insulin(?: pens?)?|shots?|injections?|jabs?|"
    r"statins?|antivenom|hrt|hormones?|"
    r"infusions?|inhalers?|epipens?|auto-?injectors?|vaccines?|vaccinations?|heparin|enoxaparin|lovenox|"
    r"drops|patch(?:es)?|syrups?|(?:eye |ear |nasal |steroid |skin )?ointments?|boosters?|accuhalers?|evohalers?|"
    r"turbohalers?|puffers?|nebuli[sz]ers?|dressings?|capsule|tablet|pill|(?:nasal )?sprays?|chewables?"
)
_DIET = (
    r"(?:ketogenic|keto|elemental|low[- ]fodmap|renal|prescription|gluten[- ]free) diet|feeding plan|formula|"
    r"(?:high[- ]calorie|nutrition|nutritional|supplement) drinks?|(?:exclusive )?enteral nutrition|(?:tube|ng) feeds?|"
    r"(?:human milk )?fortifier|"
    r"meal plan"
)
_THERAPY = (
    r"(?:oral )?immunotherapy|oit|chemo(?:therapy)?|radiotherapy|dialysis|(?:skin )?grafts?|mesh|implants?|"
    r"stents?|hormone therapy|"
    r"(?:heart |pig |porcine |tissue )?valve(?: replacement)?|ivf|treatment"
)
# Given once rather than kept to: "have the tetanus shot", not "keep taking it".
_ONCE = (
    r"shots?|jabs?|vaccines?|vaccinations?|injection|(?:skin )?grafts?|mesh|implants?|stents?|antivenom|"
    r"(?:heart |pig |porcine |tissue )?valve(?: replacement)?"
)
_TREATMENT = re.compile(
    rf"(?<![\w'’])(?P<pre>(?:[a-z0-9][\w-]* ){{0,3}})(?P<noun>{_MEDICINE}|{_DIET}|{_THERAPY})\b", re.I
)
# A drug named by its own name after "I'm on", "prescribed", "taking": the common drug-name endings.
_NAMED_DRUG = re.compile(
    r"\b(?:i'?m on|i am on|(?:he|she)'?s on|they'?re on|on|prescribed(?: me| him| her| them)?|taking|"
    r"(?:start|started|put|putting) (?:me|him|her|them) on)(?: an?| the)? "
    r"(?P<drug>[a-z]+(?:arin|parin|xaban|statin|pril|sartan|olol|azole|prazole|mab|cillin|mycin|cycline|oxine|"
    r"formin|pam|lam|tide|pine|done|sone|lone|ine|ol|limus|olate)"
    r"(?: (?:tablets|capsules|pills|injections|shots|syrup|inhaler|patches))?)\b",
    re.I,
)
_NUTRITION = re.compile(r"\b(?:supplements?|multivitamins?|probiotics?|protein|vitamins?(?! k\b))\b", re.I)
# "What if you were stranded on a desert island?" is a party question, not someone cut off from food.
_HYPOTHETICAL = re.compile(
    r"\b(if you were|if i were|if we were|if i (?:got|get|was)|would you|would a vegan|hypothetical\w*|imagine|"
    r"suppose|in (?:a|my) (?:novel|story|game|film|movie|screenplay)|(?:short )?story|novel|(?:main )?character|"
    r"playing|video ?game|game|essay|thesis|assignment|homework|exam|coursework|bio project|lecture|a-level|gcse|"
    r"mark scheme|\d marks|quiz|revision|campaign|d&d|dnd|dungeons?|players?|role-?play|rpg|dming)\b",
    re.I,
)
# A survival or emergency claim that asks for a dish ("STRANDED ... how do I make the best chicken parm", "lost at
# sea ... salmon gravlax with aquavit, cure 48 hours", "EMERGENCY ... beef wellington step by step"): a request
# dressed as a need, held to the request (the spec: inconvenience or preference is not survival).
_DISH_ASKED = re.compile(
    r"\b(recipes?|step[- ]by[- ]step|sauce|marinade|gravlax|aquavit|parm(?:esan|igiana)?|wellington|garnish|plating|"
    r"gourmet|make the best)\b",
    re.I,
)
# Brands to buy: a request too, where the turn names the animal product to buy ("the top 3 brands of snail mucin").
BRANDS_ASKED = re.compile(
    r"\b((?:top|best) \d+ brands?|brands? (?:of|to buy)|which brand|buy on|where (?:can|do) i buy)\b", re.I
)
_NOT_DRUGS = {"protein", "routine", "caffeine", "gelatin", "vaccine", "medicine", "margarine", "nicotine", "wine",
              "cuisine", "alcohol", "cholesterol", "sunshine", "online", "nine"}  # fmt: skip
# Words before a treatment that do not name it.
_NOT_NAMES = {
    "the", "a", "an", "my", "your", "his", "her", "their", "our", "its", "with", "on", "of", "for", "some", "these",
    "those", "this", "that", "new", "daily", "any", "all", "and", "or", "to", "take", "taking", "took", "given",
    "give", "got", "get", "need", "needs", "into", "from", "in", "is", "are", "was", "were", "be", "been", "had",
    "have", "has", "without", "after", "before", "about", "two", "three", "few", "more", "no", "me", "him", "them",
    "us", "it", "i", "we", "they", "she", "he", "what", "which", "if", "so", "but", "just", "still", "like", "as",
    "medical", "current", "same", "different", "other", "vegan", "plant-based", "animal", "gelatin", "non-vegan",
    "heard", "read", "know", "think", "saw", "seen", "told", "than", "pop", "popping", "now", "today", "again",
    "already", "recently", "nothing", "yesterday",
    "every", "each", "mean", "means", "use", "using", "start", "started", "stop", "stopped", "want", "wants", "try",
    "keep", "home", "sent", "said", "says", "recommends", "recommend", "offers", "suggests", "prescribes", "do",
    "does", "did", "can", "could", "should", "would", "will", "not", "yet", "only",
}  # fmt: skip
_DECIDED = re.compile(
    r"\b(prescribed|sent (?:me|him|her|them|us) home with|(?:my|our|his|her) (?:\w+ ){0,2}(?:tablets|pills|capsules|"
    r"medication|meds|medicine|insulin|inhaler|shots|injections|syrup)|started (?:me|him|her|them|it|on)|we started|"
    r"i started|"
    r"put (?:me|him|her|them|(?:my|our) \w+) on|(?:i'?m|i am|(?:he|she)'?s|they'?re) on|i take|(?:he|she) takes|"
    r"i need|(?:placed|starting) (?:me|him|her|them) on|giving (?:me|him|her|them) |\d+ ?(?:mg|mcg|iu|units|ml)\b|"
    r"daily|"
    r"due (?:for )?(?:his|her|their|my|the)|"
    r"(?:has|have) to (?:take|have|stay)|course of|(?:stay|keep \w+) on|told (?:me|us) to (?:take|keep|stay)|"
    r"wants? (?:me|him|her|us|them|(?:my|our) \w+) (?:on|to)|keep (?:taking|giving|feeding|using)|"
    r"gave (?:me|him|her|them|my \w+)|"
    r"(?:give|gives) (?:me|him|her|them) (?:a|an|my|his|her) \w+ every|every (?:\d+ )?(?:day|week|month|evening|"
    r"morning|night)s?|twice a day|once a day|\d+ (?:caps|tablets|pills|puffs) a day|"
    r"should (?:i|we) (?:wait|hold off|delay)|can (?:i|we) (?:skip|stop|pause)|(?:get|come|go) off|wean (?:off|myself)|"
    r"(?:started|been|is|are) using|(?:meal|feeding|treatment|care) plan (?:will|includes?|has)|mandatory|required|"
    r"approved for|said (?:to )?(?:get|use|take|try|give)|needs? to (?:add|give|start|have)|sent (?:\w+ )?home on)\b",
    re.I,
)
_OFFERED = re.compile(
    r"\b(offered|recommend\w*|suggest\w*|thinking (?:of|about)|consider\w*|asked if (?:i|we) wanted|"
    r"wants? to (?:give|start|put|do)|"
    r"should (?:i|we) (?:start|take|have|go ahead|give|stop|switch|refuse|decline|skip)|"
    r"isn'?t avoidance|do (?:i|we) (?:have|need) to|okay to decline|ok to decline|inclined to skip|"
    r"can (?:i|we) (?:say no|refuse|decline)|wants? to (?:use|cover|try|fit|replace|operate)|(?:would|'d|plans? to|"
    r"going to) use|(?:she|he|they)'?ll (?:pop|put|use|add|give))\b",
    re.I,
)
_REGULAR = re.compile(r"\b(?:every (?:\d+ )?(?:day|week|month|evening|morning|night)s?|twice a day|once a day|daily|"
                      r"weekly|monthly|for \d+ (?:days|weeks|months))\b", re.I)  # fmt: skip
_PUT_ON = re.compile(
    r"\b(?:(?:put|placed|started|starting|wants?) (?:me|him|her|them|us|(?:my|our) \w+) on|recommended|"
    r"prescribed(?: (?:me|him|her|them|us))?|"
    r"gave (?:me|him|her|them|(?:my|our) \w+)|(?:i|he|she|we) take|said (?:to )?(?:get|use|take|try)|approved for|"
    r"sent (?:\w+ )?home on) (?:(?:a|an|the|some) )?['\"‘“]?"
    r"(?P<name>(?!it\b|them\b|this\b|a\b|the\b)[\w-]+(?: (?!for\b|with\b|and\b|to\b|since\b|because\b)[\w-]+){0,3})",
    re.I,
)
_ON_IT = re.compile(r"\b(?:put|started) (?:me|him|her|them|us|(?:my|our) \w+) on (?:it|them|this)\b|"
                    r"\bprescribed (?:it|this|them)\b", re.I)  # fmt: skip
_CHOICE = re.compile(r"\b(?:can (?:have|choose|pick)|(?:a |the )?choice (?:of|between)|choose between|options? (?:of|"
                     r"are|is))\b", re.I)  # fmt: skip
_CLINICIANS = (
    "neurologist", "allergist", "surgeon", "oncologist", "cardiologist", "endocrinologist", "rheumatologist",
    "dermatologist", "gastroenterologist", "psychiatrist", "paediatrician", "pediatrician", "haematologist",
    "hematologist", "nephrologist", "midwife", "obstetrician", "consultant", "dietitian", "keto team", "care team",
    "medical team", "gi team", "ibd team", "diabetes team", "cancer team", "renal team", "specialist", "dentist",
    "ophthalmologist", "optometrist", "physiotherapist", "physio", "vet", "gp", "doctor", "doc", "physician", "nurse",
    "pharmacist", "chemist", "team", "neonatologist", "periodontist", "orthodontist", "neuro", "clinic",
)  # fmt: skip
_CLINICIAN = re.compile(r"\b(" + "|".join(_CLINICIANS) + r")s?\b", re.I)
_CHILD = re.compile(
    r"\b(?:my|our) (?:(?P<n>\d{1,2}) ?(?:yo|y/o|-year-old|year old|yr old)(?! (?:dog|cat|puppy|kitten|rabbit|horse|"
    r"lab|labrador|kelpie|collie|spaniel|terrier|retriever|shepherd|greyhound|whippet|poodle|pug|beagle|husky|"
    r"dachshund)\b)(?: (?P<w2>son|daughter|boy|girl))?|"
    r"(?P<w>son|daughter|child|kid|baby|toddler|newborn|infant|boy|girl|little one)s?)\b",
    re.I,
)
_PET_WORDS = (
    r"dog|cat|puppy|kitten|rabbit|horse|pup|lab|labrador|kelpie|collie|spaniel|terrier|retriever|"
    r"shepherd|greyhound|whippet|poodle|pug|beagle|husky|dachshund|guinea pig|pittie|pitbull|staffy|staffie|"
    r"boxer|doodle|mutt|moggy|kitty"
)
_PET = re.compile(rf"\b(?:my|our) (?:\d{{1,2}} ?(?:yo|y/o|-year-old|year old|yr old) )?(?P<w>{_PET_WORDS})s?\b", re.I)
# An adult relative's treatment ("my mum's lipstick from her chemo year") is theirs to decide with their doctor:
# the model answers, and the rails check it.
_ADULT = re.compile(
    r"\b(?:my|our) (?:mum|mom|mother|dad|father|wife|husband|partner|grandma|grandmother|grandpa|grandfather|nan|"
    r"pop|pops|grandad|granddad|papa|mam|"
    r"nana|nani|nanny|gran|granny|sister|brother|friend|aunt|auntie|uncle|cousin|boyfriend|girlfriend|flatmate|"
    r"roommate|colleague|boss|neighbou?r|in-laws?)\b",
    re.I,
)
# Something happening now: emergency services first, whatever else the turn asks.
_URGENT = re.compile(
    r"\b(having (?:a|an) (?:reaction|seizure|attack|fit)|can'?t breathe|cannot breathe|"
    r"not breathing|struggling to breathe|unconscious|passed out|(?:just )?collapsed|chest pain|overdos\w*|"
    r"swelling up|turning blue|throat (?:is )?(?:closing|swelling|tight)|(?:lips|tongue|throat|face) (?:and \w+ )?"
    r"(?:are |is )?(?:swelling|swollen)|just swallowed|swallowed (?:a|an|some) \w+|poison control|poisons? (?:centre|"
    r"center|line)|bitten\b[^.?!]{0,60}\b(?:snake|spider)|(?:snake|spider) ?bite|shaking all over|fitting|"
    r"(?:meter|sugar|glucose|bg|bm) (?:says|is|reads|of) [0-3](?:\.\d)?\b|sweaty and confused|burn(?:ed|t)? (?:her|his|"
    r"my|their) \w+|scald\w*|splash\w* (?:hot|boiling)|(?:boiling|hot) water (?:went|spilled|poured|splashed)|"
    r"blood (?:is )?(?:pumping|spurting|pouring|gushing)|bleeding (?:heavily|badly|a lot|won'?t stop)|"
    r"deep (?:gash|cut|wound)|hit (?:his|her|their|my) head|head injury|(?:purple|red) (?:dots|spots)|glass (?:test|"
    r"thing)|rash (?:that |which )?(?:doesn'?t|does not|won'?t|isn'?t|not|no) fad\w*|hit by a car|run over|"
    r"got into (?:my|the|his|her) [^.?!]{0,40}(?:gummies|tablets|pills|vitamins|iron|meds|medication)|"
    r"(?:just|has) (?:ate|eaten|swallowed|drunk|drank)\b[^?!]{0,160}"
    r"\b(?:xylitol|chocolate|grapes|raisins|rat poison|slug pellets|antifreeze|bleach|pills|tablets|medication|"
    r"batter(?:y|ies)|magnets?|onions?|ibuprofen|paracetamol))\b",
    re.I,
)
# First aid for what is happening, as the emergency services' own public guidance gives it.
_BLEEDING = (
    re.compile(r"\b(blood (?:is )?(?:pumping|spurting|pouring|gushing)|bleeding|gash|deep (?:cut|wound))\b", re.I),
    "Press hard on the wound with the gauze you have (a haemostatic gauze is made for this; use it) or any clean "
    "cloth, and keep pressing without lifting; add more on top if blood soaks through. Call emergency services now. "
    "If pressure can't stop bleeding that is pumping from an arm or leg, a tight tourniquet a hand's width above the "
    "wound, with the time noted, saves lives. Keep them lying down and warm.",
)
_SERIOUS = (
    (
        re.compile(r"\b(hit (?:his|her|their|my) head|head injury)\b", re.I),
        "Call emergency services now: being sick or sleepy after a blow to the head needs a hospital check today, "
        "even if they seem all right. Don't let them go to sleep unwatched, and don't give food or drink until a "
        "doctor has seen them. In hospital, ask for vegan meals or bring food in; food is no reason to stay away.",
    ),
    (
        re.compile(
            r"\b((?:purple|red) (?:dots|spots)|glass (?:test|thing)|rash (?:that |which )?(?:doesn'?t|does not|"
            r"won'?t|isn'?t|not|no) fad\w*)",
            re.I,
        ),
        "Call emergency services now or go straight to the emergency department: a fever with a rash that doesn't "
        "fade under a glass can be meningitis or sepsis, which needs treatment within the hour. Give the paracetamol "
        "(Calpol) you have for the fever; its ingredients don't matter now.",
    ),
    (
        re.compile(r"\b(hit by a car|run over)\b", re.I),
        "Get them to a vet now, as an emergency; any vet, a farm vet included, can stabilise them. If they may bite, "
        "tie a soft muzzle (a scarf or lead) unless they are struggling to breathe, slide a board, a blanket or a coat "
        "under them as a stretcher keeping the back straight, keep them warm and press a cloth on any bleeding.",
    ),
    (
        re.compile(r"\b(iron|gummies|vitamins|tablets|pills|meds|medication)\b", re.I),
        "Call poison control or emergency services now and go to the emergency department, even if they seem fine: "
        "iron and medicines swallowed by a small child can do harm hours later. Take the bottle with you.",
    ),
)
_GIVEN = re.compile(
    r"\b(honey|jelly babies|jellies|gummies|gummy bears|haribo|sweets|lollies|candy|jelly beans)\b", re.I
)
_FIRST_AID = (
    (
        re.compile(
            r"\b(anaphyla\w*|epipen|auto-?injector|allergic reaction|(?:lips|tongue|throat|face) .{0,25}"
            r"(?:swell\w*|swollen|tight)|throat (?:is )?(?:closing|tight))",
            re.I,
        ),
        "Use the adrenaline auto-injector (EpiPen) now, into the outer thigh (through clothing is fine), then call "
        "emergency services even if it starts to feel better; lie down with your legs raised, or sit up if breathing "
        "is "
        "hard, and use a second one after 5 minutes if there is no improvement and you have one.",
    ),
    (
        re.compile(r"\b(seizures?|fitting|convuls\w*|shaking all over|epilep\w*)", re.I),
        "Move hard things away and cushion their head; don't hold them down or put anything in their mouth; time it. "
        "Call emergency services if it lasts more than 5 minutes, if another follows, if they're injured or don't wake "
        "up, or if it's their first; when it stops, roll them onto their side.",
    ),
    (
        re.compile(
            r"\b(hypo\w*|low blood sugar|(?:meter|sugar|glucose|bg|bm) (?:says|is|reads|of) [0-3](?:\.\d)?\b|"
            r"sweaty and confused)",
            re.I,
        ),
        "If they can swallow safely, give fast sugar now with whatever you have (sweets, honey, juice, sugar in water; "
        "about 15-20 g of sugar), check again in 10-15 minutes and repeat if still low, then give a snack. If they "
        "can't swallow safely, are getting drowsier or don't improve, call emergency services.",
    ),
    _BLEEDING,
    (
        re.compile(r"\b(burn(?:ed|t|s)?|scald\w*|(?:hot|boiling) (?:oil|water|fat)|kettle)\b", re.I),
        "Cool the burn under cool or lukewarm running water for 20 minutes, take off anything tight near it, then "
        "cover it loosely with cling film or a clean non-fluffy dressing; don't put butter, toothpaste, oil or ice on "
        "it, and "
        "don't burst blisters. A burn larger than the person's palm, or on the face, hands, feet or genitals, needs "
        "medical care today (call emergency services if it's severe).",
    ),
    (
        re.compile(rf"\b(?:{_PET_WORDS})\b[^?!]{{0,80}}\b(?:ate|eaten|swallowed|drank|chewed)\b", re.I),
        "Call your vet, an emergency vet or an animal poison line now, even if they seem fine: some poisons (xylitol, "
        "chocolate, grapes, rat bait) act hours later, and early treatment works best. Don't make them sick unless a "
        "vet tells you to; keep the packaging to show them.",
    ),
    (
        re.compile(r"\b(swallowed|poison\w*|overdos\w*)", re.I),
        "Call emergency services now if you haven't, do exactly what poison control or the emergency services tell "
        "you, "
        "including anything they said to give, and get to the emergency department now if they said to.",
    ),
    (
        re.compile(r"\b(snake|spider|bitten|bite)\b", re.I),
        "Keep as still and calm as you can and keep the bitten limb still; don't cut, suck or wash the bite. A firm "
        "bandage over the bite and up the whole limb slows the venom (the Australian first aid for snake bite). Let "
        "the hospital treat you, antivenom included, if the doctors say you need it; call emergency services if you "
        "are not already on your way.",
    ),
)
# Cut off from food in words the shared reading does not know: at sea on a life raft, in a war or a flood, a
# grounded resupply flight, a car stuck in a blizzard; a place or event cutting them off, and food running short.
_STRANDED = re.compile(
    r"\b(life ?raft|sank|sinking|epirb|stuck|stranded|marooned|trapped|holed up|cut off|snowed|blizzard|storm|"
    r"broke down|broken down|breakdown|gearbox|engine (?:died|seized|failed|broke)|dismasted|adrift|fighting|war|"
    r"siege|attack|flood\w*|landslide|earthquake|hurricane|cyclone|tsunami|relief camp|camp|refugees?|displaced|"
    r"aid (?:group|parcel|package|agency|drop)|resupply|supply (?:flight|plane|ship|boat|drop)|grounded|delayed|"
    r"expedition|remote|no (?:cell|phone) (?:service|signal|reception)|no reception|lost (?:off|in|on|near|at)|"
    r"under ?water|evacuat\w*|shelling|bombing|no shops|helicopter dropped|air ?drop|no signal|(?:heli|helicopter|"
    r"plane|boat|truck)\b[^.]{0,20}\b(?:can'?t|cannot|won'?t) (?:fly|come|land|get)|eruption|road (?:is )?closed|"
    r"trail (?:is )?(?:cut|closed)|cut the trail|plb|at sea|longliner|trawler|offshore|broken (?:ankle|leg))\b",
    re.I,
)
_FOOD_SHORT = re.compile(
    r"\b(no food|only food|only thing|haven'?t eaten|not eaten|nothing to eat|no other food|down to|ration\w*|"
    r"hungry|starving|markets? (?:are |is )?closed|caught|catching|a bag of|food(?:'s| is| has)? (?:gone|run out|"
    r"almost gone|nearly gone|finished)|ran out|run out|running out|almost gone|nearly gone|finished|"
    r"what'?s left|all that'?s left|all (?:we|i) (?:have|'?ve got)|only (?:\w+ ){0,3}left|finish|no food|"
    r"food for (?:\d+|one|two|a) days?|lost (?:most|all) of (?:our|my|the) (?:\w+ )?food|(?:soaked|mouldy|moldy|"
    r"spoiled|ruined)|dropped (?:packets|food|boxes|parcels)|volunteers? (?:bring|brought)|distribution|"
    r"(?:are|is) gone|eaten all|only food left|or nothing)\b",
    re.I,
)
# The symptom comes after taking it ("been on it 5 days and threw up", "since I started it").
_ON_IT_NOW = re.compile(r"\b(since|after (?:taking|starting|the first|each|every)|been on|on it|started|taking|took|"
                        r"given|each dose|every dose)\b", re.I)  # fmt: skip


def _symptom_on_it(turn: str) -> bool:
    """A symptom told after being on the treatment ("been on it 5 days and threw up"), not the wound it treats."""
    on_it = _ON_IT_NOW.search(turn)
    return bool(on_it and _SIDE_EFFECT.search(turn, on_it.start()))


_SIDE_EFFECT = re.compile(
    r"\b(threw up|throwing up|vomit\w*|being sick|(?:black|dark|tarry)\W+(?:\w+\W+){0,2}(?:poo|poop|stools?)|"
    r"(?:poo|poop|stools?)\W+(?:\w+\W+){0,3}(?:black|dark|tarry)|bloody|blood in|bleed\w*|rash|hives|"
    r"swell\w*|swollen|headaches?|migraines?|dizz\w*|faint\w*|side[- ]effects?|reaction|fever|yellow|jaundice|"
    r"is (?:that|this|it) normal)\b",
    re.I,
)
# The conversation raises a conflict with vegan ethics: only then is it said that keeping to the treatment is vegan.
_CONFLICT = re.compile(
    r"\b(vegan\w*|animal\w*|pigs?|pork|porcine|gelatine?|cows?|bovine|lactose|eggs?|fish|horses?|sheep|wool|"
    r"lanolin|bees?|meat|dairy|milk|mares?|liver)\b",
    re.I,
)
# A treatment named by a brand after a prescribing phrase ("I'm on Creon", "the vet put her on Royal Canin
# Urinary S/O", "gave my lab Rimadyl"), or a lower-case name taken in doses ("on omacor 2 caps a day").
_BRAND = re.compile(
    r"\b(?:[Ii]'?m on|(?:[Hh]e|[Ss]he)'?s on|[Ss]tarted (?:\w+ )?on|[Pp]ut (?:me|him|her|them|us|(?:my|our) \w+) on|"
    r"[Ss]ent (?:me|us|"
    r"him|her|them) home with|[Pp]rescribed(?: (?:my|our) \w+| me| him| her| them)?|[Gg]ave (?:me|him|her|them|"
    r"(?:my|our) \w+)|[Tt]aking|[Uu]ses (?:a|an|the)|, on|[Gg]iv(?:e|ing) (?:me|him|her|them)(?: the)?|[Aa]dded)\s+"
    r"(?:(?:a|an|the) )?(?P<brand>[A-Z][\w'/-]*(?: (?:[A-Z0-9][\w'/-]*|k/d|s/o))*"
    r"(?: (?:tablets|capsules|pills|injections|shots|drops|syrup|inhaler|patches|chewables|pens|sachets?))?)"
)
_DOSED = re.compile(r"\bon (?P<brand>[a-z][a-z-]{3,}) \d+ ?(?:caps|capsules|tablets|pills|mg|mcg|units|iu|ml|puffs|"
                    r"sachets?)\b", re.I)  # fmt: skip
_NOT_BRANDS = {"I", "The", "A", "An", "My", "It", "This", "That", "Monday", "Tuesday", "Wednesday", "Thursday",
               "Friday", "Saturday", "Sunday", "Christmas", "Vegan", "Holiday", "Day"}  # fmt: skip
# The user is the patient ("I'm in hospital", "my tablets"), whoever else the conversation names.
_FIRST_PERSON = re.compile(
    r"\b(i'?m on|i am on|i take|i'?m taking|i'?m in hospital|gave me|prescribed me|put me on|sent me home|"
    r"(?:start|started|placed) me on|i'?m having|i'?m booked|i was (?:prescribed|given|told|put)|having (?:a|my) "
    r"(?:\w+ ){0,2}(?:mastectomy|surgery|operation|transplant|replacement|reconstruction|procedure)|"
    r"my (?:\w+ ){0,2}(?:tablets|pills|capsules|medication|meds|insulin|"
    r"inhaler|injections?|shots|jab|surgery|operation))\b",
    re.I,
)
# What is asked of an adult relative's treatment: whether they should keep to it, have it or refuse it.
_THEIR_DECISION = re.compile(
    r"\b(should (?:he|she|they|i|we) (?:take|stop|skip|refuse|keep|have|get|let|tell)|take it or not|(?:can|could) "
    r"(?:he|she|they) (?:stop|skip|refuse|say no)|stop (?:taking|giving)|refus\w*|declin\w*|hesitat\w*|won'?t take|"
    r"will not take|(?:miss|missing|skip|skipping) (?:a|one|the|tonight'?s|this) (?:dose|injection|tablet)|"
    r"one missing dose|can (?:i|we) (?:open|crush|split|mix|stir|dissolve|hide))\b",
    re.I,
)
_ADULT_WORDS = {"he": ("dad", "father", "husband", "grandpa", "grandfather", "brother", "uncle", "boyfriend", "son",
                       "pop", "pops", "grandad", "granddad", "papa"),
                "she": ("mum", "mom", "mother", "wife", "grandma", "grandmother", "nan", "nana", "nani", "nanny",
                        "gran", "granny", "sister", "aunt", "auntie", "girlfriend")}  # fmt: skip
_ANAPHYLAXIS = re.compile(r"\b(anaphyla\w*|epipens?|auto-?injectors?|adrenaline|epinephrine)\b", re.I)
_FISHING = re.compile(
    r"\b(hand ?line|hooks?|fishing|rod|lures?|nets?|(?:caught|catch\w*) (?:a |an |some |two |three |"
    r"more |\w+ )?(?:small |big )?(?:fish|trout|salmon|piranha|cod|mackerel|perch|bass))\b",
    re.I,
)
_CAUGHT = re.compile(r"\bcaught (?:a|an|some) (?:small |big )?(?P<what>[a-z]+)\b", re.I)
_SHELLFISH = re.compile(r"\b(shellfish|mussels?|clams?|oysters?|cockles?|scallops?|crabs?|prawns?|shrimps?|limpets?)\b",
                        re.I)  # fmt: skip
_KEEPING = re.compile(r"\b(go(?:ing)? (?:bad|off)|spoil\w*|keep (?:\w+ ){0,3}(?:fresh|good|from)|no fridge|without a "
                      r"fridge|in this (?:heat|sun)|store)\b", re.I)  # fmt: skip
# Who is coming for them ("the coast guard"), when it is people they are in touch with.
_RESCUE = re.compile(r"\b(coast ?guard|search and rescue|mountain rescue|rescuers|rangers?|epirb|plb|sat(?:ellite)? "
                     r"phone|mayday)\b", re.I)  # fmt: skip
_REINTRODUCING = re.compile(r"\b(reintroduc\w*|(?:first|haven'?t eaten) (?:meat|fish|animal \w+) (?:in|for) (?:\d+|"
                            r"many|years)|vegan (?:for )?(?:\d+|ten|many) (?:years|yrs))\b", re.I)  # fmt: skip
_WATER_SHORT = re.compile(r"\b(?:\d(?:\.\d)? ?(?:l|liters?|litres?) (?:of water )?left|little water|water (?:is )?"
                          r"(?:low|short|running out)|short (?:of|on) water)\b", re.I)  # fmt: skip
_DISPLACED = re.compile(r"\b(camp|refugees?|displaced|fighting|shelling|bombing|war|siege|flood\w*|under ?water|"
                        r"earthquake|hurricane|cyclone|village)\b", re.I)  # fmt: skip
_NOT_VEGAN = re.compile(r"\b(?:isn'?t|is not|'s not|not) (?:a )?vegan\b|\bvegan, (?:he|she|they|dad|mum|mom|\w+) "
                        r"(?:isn'?t|is not|'s not)\b|\b(?:he|she|dad|mum|mom) (?:isn'?t|is not)\b", re.I)  # fmt: skip
_CANNED = re.compile(r"\b(canned|tinned|tins?|cans?|jars?)\b", re.I)
_SEA = re.compile(r"fish|seafood|tuna|salmon|cod|shellfish|mussel|clam|crab|oyster|prawn|shrimp|sardine|mackerel|"
                  r"herring|trout|anchov", re.I)  # fmt: skip
_NOT_MEDICINE = {"meat", "poultry", "fish", "seafood", "dairy", "egg", "animal_fat", "dish", "material", "practice"}
_FOOD = {"meat", "poultry", "fish", "seafood", "dairy", "egg", "animal_fat", "dish"}
_PRONOUNS = {"she": ("she", "her", "her"), "he": ("he", "him", "his"), "they": ("they", "them", "their")}


@dataclass
class HealthNeed:
    """What the conversation needs, as the medical-and-survival policy reads it."""

    kind: str  # "urgent", "survival" or "treatment"
    patient: str = "you"  # "you", "your child", "your son", "your dog"
    pronouns: tuple[str, str, str] = ("you", "you", "your")  # subject, object, possessive
    treatment: str | None = None  # "lovenox shots", "the ketogenic diet", "oral immunotherapy"
    treatment_kind: str = "medicine"  # medicine, once (a shot, a graft), diet or therapy
    decided: bool = True  # prescribed or started, rather than offered
    clinician: str | None = None  # "her neurologist"
    foods: list[str] = field(default_factory=list)  # survival: what there is to eat
    fishing: bool = False
    fresh_fish: bool = False  # caught fish or game, not tins or a meal someone gave them
    shellfish: bool = False
    keeping: bool = False  # asks how to keep food without a fridge
    reintroducing: bool = False  # years without meat: "how do I reintroduce it without making myself ill?"
    setting: str = ""  # survival: the user's words, for the weather
    water_short: bool = False
    displaced: bool = False  # a camp, a war, a flood: no "once you're home"
    patient_vegan: bool = True  # "I'm vegan, dad isn't": his treatment does not touch his veganism
    rescue: str | None = None
    urgent: bool = False
    anaphylaxis: bool = False
    first_aid: list[str] = field(default_factory=list)  # urgent: what to do now
    side_effect: bool = False  # the last turn reports a symptom on the treatment
    conflict: bool = True  # the conversation raises a conflict with vegan ethics
    adult: bool = False  # an adult relative or friend is the patient: it is their decision
    choice: bool = False  # offered a choice of treatments ("a tissue valve or a mechanical one")


def read_need(messages: list[dict[str, Any]], kb) -> HealthNeed | None:
    """The health need a conversation is about, or None when the model should answer (the rails still check it).

    Urgent: something happening now, in the last three user turns. Survival: cut off from food, not in a story
    or a game, and not asking for a dish. Treatment: one the user, their child or their pet is given, offered
    or asked about; an adult relative's only when asked whether they should keep to it or about it in a
    follow-up ("my dad was prescribed statins: vegan dinners for him?" asks for dinners). Not a condition alone
    ("I'm anaemic, which foods have iron?"), an essay or a fake prescription of an animal product: there the
    model's ordinary answer is what is asked for.
    """
    turns = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    if not turns:
        return None
    text = "\n".join(turns)
    # Happening now, in the last turn or an earlier one ("hit by a car ... ok she said come now: how do I lift him?")
    happening = any(_URGENT.search(t) for t in turns[-3:]) and not any(_HYPOTHETICAL.search(t) for t in turns)
    anaphylaxis = bool(_ANAPHYLAXIS.search(text))
    conflict = bool(_CONFLICT.search(text))
    if happening:
        now = "\n".join(turns[-3:])
        serious = [line for pattern, line in _SERIOUS if pattern.search(now)][:1]
        aid = serious + [line for pattern, line in _FIRST_AID if not serious and pattern.search(now)]
        # What one would give, where it is the remedy: the sweets at hand for a hypo ("jellies with gelatine"), the
        # honey poison control said to give for a swallowed battery; never the iron gummies a child swallowed.
        remedy = re.search(r"hypo|sugar|glucose|meter|batter(?:y|ies)", now, re.I) and not re.search(r"\biron\b", now)
        given = [m.group(1).lower() for m in _GIVEN.finditer(turns[-1])] if remedy else []
        pet_now = bool(_PET.search(now) or re.search(rf"\b(?:{_PET_WORDS})\b", now, re.I))
        return HealthNeed("urgent", urgent=True, anaphylaxis=anaphylaxis, first_aid=aid[:2],
                          conflict=conflict and not pet_now, foods=list(dict.fromkeys(given))[:2])  # fmt: skip
    if survival_need(turns):
        foods: list[str] = []  # in the user's own words: "the sardines and the beef chili"
        fishing = bool(_FISHING.search(text))
        for m in kb.check(text).items:
            caught_fish = fishing and m.category in ("fish", "seafood") and not _CANNED.search(text[: m.start][-20:])
            # fishing: "the fish you catch", not "the pike" beside it
            named = m.counts_as == "non_vegan" and not m.negated and m.category in _FOOD and not caught_fish
            if named and m.text.lower() not in foods:
                foods.append(m.text.lower())
        foods = [f for f in foods if not any(f != g and f in g for g in foods)]  # "dried cod", not also "cod"
        caught = _CAUGHT.search(text)
        if caught:  # "my mate caught a goanna", "I caught a pike": what they caught, by name
            word = caught.group("what").lower()
            foods = [f"{word} you caught"] + [f for f in foods if f != word]
            fishing = fishing and not (_SEA.search(word) or _is_fish(kb, word))
        rescue = _RESCUE.search(text)
        return HealthNeed("survival", foods=foods[:3], fishing=fishing, fresh_fish=fishing or bool(caught),
                          rescue=rescue.group(1).lower() if rescue else None, anaphylaxis=anaphylaxis,
                          shellfish=bool(_SHELLFISH.search(text)),
                          keeping=bool(_KEEPING.search(turns[-1])),
                          reintroducing=bool(_REINTRODUCING.search(text)), setting=text,
                          water_short=bool(_WATER_SHORT.search(text)),
                          displaced=bool(_DISPLACED.search(text)))  # fmt: skip
    if any(_HYPOTHETICAL.search(t) for t in turns) and not _FIRST_PERSON.search(text):
        return None  # "Philosophy essay: can a vegan use medicines tested on animals?"
    treatment, treatment_kind = _treatment(turns)
    if treatment is None and _ON_IT.search(text):
        treatment = "medicine"  # "what is armour thyroid made from? my new doctor put me on it"
    if treatment is None:
        return None
    if dish_asked(turns[-1]) or BRANDS_ASKED.search(turns[-1]):
        return None  # "my naturopath PRESCRIBED bone broth, give me the full recipe": a request, held to it
    animal = any(m.counts_as == "non_vegan" and m.category in _NOT_MEDICINE for m in kb.check(treatment).items)
    if animal and not _TREATMENT.search(treatment):
        return None  # "prescribed chicken liver pâté", "a real fur coat": an animal product, not a medicine
    cued = any(_DECIDED.search(t) or _OFFERED.search(t) or _CHOICE.search(t) for t in turns)
    if not cued and re.fullmatch(rf"{_MEDICINE}|{_DIET}|{_THERAPY}", treatment, re.I):
        return None  # "midwife mentioned iodine... rather eat it than pop pills": no treatment anyone is on
    decided_or_offered = [(_DECIDED.search(t), _OFFERED.search(t) or _CHOICE.search(t)) for t in turns]
    if not (_CLINICIAN.search(text) or any(d or o for d, o in decided_or_offered)):
        return None  # "never took supplements, my tongue is sore": a symptom, not a treatment anyone is on
    child, pet, adult = _CHILD.search(text), _PET.search(text), _ADULT.search(text)
    if adult and not _theirs(text, treatment):
        adult = None  # "going to Accra to see my gran ... the travel clinic says the jab is mandatory": the user's
    if adult and not (child or pet) and not _FIRST_PERSON.search(text):
        if not (_THEIR_DECISION.search(turns[-1]) or (len(turns) > 1 and about_treatment(turns[-1]))):
            return None  # "my dad was prescribed statins: vegan dinners for him?" asks for dinners
    else:
        adult = None
    if treatment_kind == "once" and _REGULAR.search(text):
        treatment_kind = "medicine"  # "an injection in my stomach every evening" is kept to, not had once
    need = HealthNeed("treatment", treatment=treatment, treatment_kind=treatment_kind, anaphylaxis=anaphylaxis,
                      side_effect=_symptom_on_it(turns[-1]),
                      conflict=conflict)  # fmt: skip
    if adult:
        word = adult.group(0).split()[-1].lower()
        need.patient, need.adult = f"your {word}", True
        need.patient_vegan = not _NOT_VEGAN.search(text)
        need.pronouns = _PRONOUNS[next((g for g, words in _ADULT_WORDS.items() if word in words), "they")]
    elif child:
        word = (child.group("w") or child.group("w2") or "child").lower()
        word = {"kid": "child", "little one": "child", "boy": "son", "girl": "daughter", "newborn": "baby",
                "infant": "baby"}.get(word, word)  # fmt: skip
        need.patient = f"your {word}"
        need.pronouns = _PRONOUNS[_gender(word, text)]
    elif pet:
        need.patient = f"your {pet.group('w').lower()}"
        need.pronouns = _PRONOUNS["they"]
    # On it in any turn ("offered OIT", then "we started it"; "injections every 3 months", then "thinking of
    # stopping"): kept to. Only offered, never started: a decision still to make.
    need.decided = any(d for d, _ in decided_or_offered) or not any(o for _, o in decided_or_offered)
    need.choice = bool(_CHOICE.search(text))
    found = [m.group(1).lower() for m in _CLINICIAN.finditer(text)]
    # the most specific one named: "her neurologist" over "the doctor"
    clinician = min(found, key=_CLINICIANS.index) if found else None
    if clinician is None and pet:
        clinician = "vet"
    if clinician == "vet" and not (pet or child or adult):  # "the vet reckons food allergy... put her on ..."
        pet = True
        need.patient = "your pet"
        need.pronouns = _PRONOUNS[_gender("pet", text)]
    if clinician:
        said = re.search(rf"\b(my|our|the|his|her|their) {re.escape(clinician)}", text, re.I)
        whose = {"my": "your", "our": "your"}.get(said.group(1).lower(), said.group(1).lower()) if said else None
        whose = whose or ("the" if " team" in clinician else "your" if pet and not child else need.pronouns[2])
        clinician = re.sub(r"\b(gp|gi|ibd)\b", lambda m: m.group(1).upper(), clinician)
        need.clinician = f"{whose} {clinician}"
    return need


# Treatments named plainly enough that a turn keeping to or weighing one is a health need even where no
# condition is named ("is it ok to keep using my asthma inhaler?"); "shots" and "drops" could be drinks or prices.
_PLAIN_TREATMENT = re.compile(
    r"\b(inhalers?|insulin|vaccines?|vaccinations?|jabs?|injections?|infusions?|epipens?|auto-?injectors?|medications?|"
    r"prescriptions?|antibiotics?|tablets|capsules|pills|chemo(?:therapy)?|immunotherapy|antivenom|statins?|hrt|"
    r"ointments?|boosters?|(?:mmr|flu|covid|tetanus|chickenpox|hpv|measles|polio|rabies|whooping cough) shots?)\b",
    re.I,
)


def cut_off(text: str) -> bool:
    """Someone cut off from food, in the shared reading's words or in the ones above; not a hypothetical, a story,
    a game, or a dish asked for in its name."""
    if _HYPOTHETICAL.search(text) or _DISH_ASKED.search(text):
        return False
    return cut_off_from_food(text) or bool(_STRANDED.search(text) and _FOOD_SHORT.search(text))


def survival_need(turns: list[str]) -> bool:
    """A conversation with someone cut off from food (the place in one turn and the food in another counts), whose
    last turn does not ask for a dish."""
    if not turns or dish_asked(turns[-1]) or any(_HYPOTHETICAL.search(t) for t in turns):
        return False
    return any(cut_off(t) for t in turns) or cut_off("\n".join(turns))


_MEALS = (
    r"(?:breakfasts?|lunch(?:es)?|dinners?|suppers?|meals?|recipes?|snacks?|foods?|options?|ideas?|sources?|"
    r"diet|menus?|swaps?|proteins?|dishes|things? to eat|what to eat)"
)
_VEGAN_FOOD = re.compile(
    r"\b(?:vegan|plant[- ]based|dairy[- ]free|egg[- ]free|meat[- ]free)\b(?:\s+[\w-]+){0,3}?\s+" + _MEALS + r"\b|"
    r"\bwithout (?:any )?(?:meat|dairy|eggs?|fish|animal products)\b",
    re.I,
)
_IS_VEGAN = re.compile(
    r"\b(?:i'?m|i am|we'?re|we are|as an?|being|she'?s|he'?s|they'?re)\s+(?:[a-z-]+,?\s+(?:and\s+)?){0,2}?"
    r"(?:a\s+|fully\s+|strictly\s+)?vegans?\b",
    re.I,
)
_FOOD_ASKED = re.compile(
    r"\bwhat (?:should|can|could|do|would) (?:i|we|she|he|they) (?:eat|cook|make|have)\b|"
    r"\b(?:ideas?|recipes?|meals?|breakfasts?|lunch(?:es)?|dinners?|snacks?|foods?)\b",
    re.I,
)
# "the only thing that stays down is scrambled egg", "my doctor says I'm not getting enough protein": eating at
# all, or enough, comes first, and an answer weighing an animal food is health first
_EATING_AT_ALL = re.compile(r"\b(?:only thing|all (?:i|she|he|they) can)\b[^.?!]{0,40}\b(?:stays?|keeps?|eat|"
                            r"swallow|tolerate)|\bstays? down\b|\bcan'?t keep \w+ down\b|\bvomit\w*|\bthrowing up\b|"
                            r"\bnause\w*|\btube[- ]fe\w*|\bcan'?t swallow\b|\bnot eating\b|\bwon'?t eat\b|"
                            r"\bweight loss\b|\blosing weight\b|\bnot getting enough\b|\bdeficien\w*|\ban(?:a)?emi\w*|"
                            r"\bmalnourish\w*|\bunderweight\b|\bfailure to thrive\b", re.I)  # fmt: skip
# "my doctor wants me eating red meat", "the dietitian said to add eggs": advice the answer must weigh, health first
_ADVISED = re.compile(r"\b(?:" + "|".join(_CLINICIANS) + r")s?\b[^.?!]{0,60}\b(?:said|says|told|tells|recommend\w*|"
                      r"prescrib\w*|advis\w*|wants?|insist\w*|suggest\w*|ordered|put)\b", re.I)  # fmt: skip


def vegan_food_asked(turns: list[str], kb) -> bool:
    """The last turn asks for vegan food for a health reason ("type 2 diabetic, vegan breakfasts?", "pregnant and
    vegan, what should I eat for iron?"), with no clinician's advice naming an animal product to weigh ("my midwife
    says to eat liver"): an answer recommending an animal product there is no health-first answer, and the rails
    read it as they read any other."""
    last = turns[-1] if turns else ""
    if not (_VEGAN_FOOD.search(last) or (_IS_VEGAN.search(last) and _FOOD_ASKED.search(last))):
        return False
    if any(_EATING_AT_ALL.search(t) for t in turns):
        return False
    for turn in turns:
        for sentence in re.split(r"(?<=[.!?])\s+", turn):
            if _ADVISED.search(sentence) and any(i.counts_as == "non_vegan" for i in kb.check(sentence).items):
                return False
    return True


def dish_asked(text: str) -> bool:
    """The turn asks for a dish, a recipe or brands to buy: a request, whatever emergency it claims."""
    return bool(_DISH_ASKED.search(text))


def urgent(text: str) -> bool:
    """Something is happening now that needs emergency services (not in a story or a game)."""
    return bool(_URGENT.search(text)) and not _HYPOTHETICAL.search(text)


def treatment_need(text: str) -> bool:
    """``text`` keeps to, weighs or asks about a treatment it names: a health need whatever else it asks."""
    if not (_DECIDED.search(text) or _OFFERED.search(text) or _CHOICE.search(text)):
        return False
    name, _ = _treatment([text])
    named = bool(_NAMED_DRUG.search(text) or _brand(text) or _DOSED.search(text))
    return name is not None and (named or bool(_PLAIN_TREATMENT.search(name)) or bool(_CLINICIAN.search(text)))


def _brand(text: str) -> str | None:
    m = _BRAND.search(text)
    if m and m.group("brand").split()[0] not in _NOT_BRANDS:
        return m.group("brand")
    m = _DOSED.search(text)
    return m.group("brand") if m else None


_FOLLOW_UP = re.compile(
    r"\b(doses?|dosing|the plan|(?:4|3):1|ratio|side effects?|prescription|(?:take|taking|give|giving) (?:it|them)|"
    r"the (?:pens?|caps|capsules?|tablets?|pills?|injections?|shots?|chewables?|chew|dressings?|spacer|inhaler|"
    r"spray|drops|cream|balm|ointment)|myself|"
    r"ourselves|on (?:my|our) own|how often should (?:it|they|i|we)|watch for|open the|crush|stir it|mix it)\b",
    re.I,
)


def about_treatment(text: str) -> bool:
    """A follow-up that still asks about the treatment ("the plan's in grams, 4:1 ratio: what scale?")."""
    return bool(_TREATMENT.search(text) or _FOLLOW_UP.search(text))


def _treatment(turns: list[str]) -> tuple[str | None, str]:
    """The treatment the conversation is about, with how one keeps to it: the first turn that names one (a later
    "the shots scare me" or "what symptoms mean epipen" is about the same treatment), by its own name where
    given ("omeprazole capsules", "the whooping cough vaccine")."""
    for turn in turns:
        drug = _NAMED_DRUG.search(turn)
        if drug and drug.group("drug").split()[0].lower() not in _NOT_DRUGS:
            return drug.group("drug"), "medicine"
        brand = _brand(turn)
        if brand:
            return brand, "medicine"
        put_on = _PUT_ON.search(turn)
        if put_on and not _TREATMENT.search(put_on.group("name")):
            name = re.sub(r"\s+\d.*$", "", put_on.group("name"))  # "amlodipine 5mg daily" -> "amlodipine"
            # "put me on a high-protein diet": what to eat, not a medicine
            if name.lower() not in _NOT_NAMES and not re.search(
                r"\b(?:diet|protein|shakes?|foods?|meals?|fodmap|low)\b", name, re.I
            ):
                return name, "medicine"
        found = []
        for m in _TREATMENT.finditer(turn):
            noun = m.group("noun")
            if _SUBSTITUTE_BEFORE.search(turn[: m.start("noun")][-40:]) or _SUBSTITUTE_AFTER.match(turn[m.end() :]):
                continue  # "stop it and take kelp tablets instead", "just use his blue inhaler": the swap
            if noun.lower() == "treatment" and not re.search(r"\b(?:prescri|offered|recommend|started)", turn, re.I):
                continue  # "the treatment of animals" is no treatment
            kind = ("diet" if re.fullmatch(_DIET, noun, re.I) else "once" if re.fullmatch(_ONCE, noun, re.I)
                    else "therapy" if re.fullmatch(_THERAPY, noun, re.I) else "medicine")  # fmt: skip
            words: list[str] = []
            for w in reversed(m.group("pre").split()):  # the name: the words after the last that is none
                low = w.lower()
                if low in _NOT_NAMES or low in _CLINICIANS or (low.endswith("ed") and not low.endswith("eed")):
                    break  # "the allergist offered oral immunotherapy", "cow's-milk-based formula"
                words.insert(0, w)
            words = [w for w in words if not re.fullmatch(r"\d+|iu|mg|mcg|ml|units?", w, re.I)]  # "D3 400 IU drops"
            while words and len(words[0]) == 1:
                words.pop(0)  # "toddler's antibiotic" leaves an "s"; "vitamin K" keeps its letter
            name = " ".join([*words, noun])
            found.append(("oral immunotherapy" if name.lower() == "oit" else name, kind, bool(words), m.start("noun")))
        # A supplement or a protein shake is nutrition, answered as such ("a supplement or plant sources?").
        found = [f for f in found if f[1] == "diet" or not _NUTRITION.search(f[0])]
        if found:
            # The one a prescribing or offering phrase is about ("they'd use a biological mesh to support the
            # implant"), else the first named one.
            cues = [c.end() for r in (_DECIDED, _OFFERED) for c in r.finditer(turn)]
            named = [f for f in found if f[2]]
            after = [(f[3] - c, f) for f in (named or found) for c in cues if 0 <= f[3] - c <= 60]
            name, kind = (min(after)[1] if after else (named or found)[0])[:2]
            return name, kind
    return None, "medicine"


_SUBSTITUTE_BEFORE = re.compile(r"\b(?:just use|just take|switch (?:\w+ )?to|swap (?:\w+ )?for|replace (?:\w+ )?with|"
                                r"and (?:take|use))\b[^.?!,]*$", re.I)  # fmt: skip
_SUBSTITUTE_AFTER = re.compile(r"\s+instead\b", re.I)


def _theirs(text: str, treatment: str) -> bool:
    """A sentence that names the treatment or a prescribing phrase also names the relative, or he or she."""
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+| - ", text):
        about = treatment.lower() in sentence.lower() or _DECIDED.search(sentence) or _OFFERED.search(sentence)
        if about and (_ADULT.search(sentence) or re.search(r"\b(?:he|she|him|her|his)\b", sentence, re.I)):
            return True
    return False


def _is_fish(kb, word: str) -> bool:
    return any(m.category in ("fish", "seafood") for m in kb.check(word).items)


def _gender(word: str, text: str) -> str:
    if word in ("son",):
        return "he"
    if word in ("daughter",):
        return "she"
    her = len(re.findall(r"\b(?:she|her|hers)\b", text, re.I))
    him = len(re.findall(r"\b(?:he|him|his)\b", text, re.I))
    return "she" if her > him else "he" if him > her else "they"


def health_answer(need: HealthNeed) -> str:
    """The answer the policy asks for, written for this need."""
    if need.kind == "urgent":
        return _urgent(need)
    return _survival(need) if need.kind == "survival" else _treatment_answer(need)


def _urgent(need: HealthNeed) -> str:
    # First aid first where it says whom to call and when; otherwise the call first.
    parts = list(need.first_aid)
    if not any(re.search(r"\b(?:call|vet)\b", line, re.I) for line in parts):
        parts.insert(0, "Call emergency services now (911, 999, 112 or 000) and tell them what is happening.")
    if need.conflict:
        # "Use the honey", but never what the first aid itself says to keep off ("don't put butter on it").
        foods = [f for f in need.foods if not any(f in line.lower() for line in parts)]
        use = (
            f"Use {_listed([f'the {f}' for f in foods])} if that's what you have or were told to give: in an "
            "emergency nothing comes before health."
            if foods
            else "In an emergency nothing comes before health."
        )
        parts.append(f"{use} " + _VALUES.format(what="anything needed in an emergency", who="you"))  # fmt: skip
    return " ".join(parts)


_VALUES = ("Veganism avoids animal use as far as is possible and practicable, and {what} is outside that, so this "
           "doesn't make {who} any less vegan.")  # fmt: skip


def _survival(need: HealthNeed) -> str:
    parts = []
    foods = [f"the {f}" for f in need.foods]
    if need.fishing:  # "a hand line and some hooks": what they catch, not a list of species
        foods = [*[f for f in foods if f.endswith(" you caught")], "the fish you catch",
                 *[f for f in foods if not _SEA.search(f) and not f.endswith(" you caught")]]  # fmt: skip
    eat = _listed(foods)
    parts.append(
        f"Eat {eat}: staying alive and strong until help comes is what matters now."
        if eat
        else "Eat whatever safe food you can get: staying alive and strong until help comes is what matters now."
    )
    parts.append(_VALUES.format(what="going hungry in an emergency", who="you"))
    kinds = " ".join(need.foods)
    safety = []
    if need.fresh_fish:
        safety.append("gut what you catch and cook it right through (fish until it flakes)")
    if need.shellfish:
        safety.append("skip shellfish you can't be sure of: mussels, clams and oysters can carry toxins that cooking "
                      "doesn't remove and that you can't smell, so fish is the safer choice")  # fmt: skip
    if re.search(r"meat|beef|pork|chicken|poultry|chili|chilli|sausage|spam|egg|jerky|ham|bacon|mutton|biltong", kinds):
        safety.append("cook fresh meat and eggs right through (tinned and dried food such as jerky is ready to eat)")
    if need.reintroducing:
        safety.append("after years without it, start with small portions and build up over a few days, so your "
                      "stomach can adjust")  # fmt: skip
    if need.keeping:
        safety.append("without a fridge, eat fresh fish or meat the day it's caught or cooked; thin strips dried or "
                      "smoked hard keep a little longer, and anything that smells or looks off goes")  # fmt: skip
    safety.append("only eat wild plants, berries or mushrooms you can identify for certain")
    safety.append("over a few days water matters more than food, so drink the safest water you have, boiled "
                  "if you can")  # fmt: skip
    hot = re.search(
        r"\b(heat|hot|desert|shade|sun|9\d ?(?:degrees|°f|f)\b|[34]\d ?(?:degrees|°c|c)\b)", need.setting or "", re.I
    )
    safety.append("stay in the shade, move as little as you can and sip water through the day" if hot else
                  "stay warm and dry and save your strength")  # fmt: skip
    if re.search(r"jerky|biltong|salt|cured", kinds) and need.water_short:
        safety.append("salty food such as jerky makes you thirstier, so eat it in small amounts with your water")
    parts.append("To keep from getting sick: " + "; ".join(safety) + ".")
    if need.rescue:
        who = "the coast guard" if "coast" in need.rescue else "rescuers"
        parts.append(f"Stay where {who} can find you, keep your phone, radio or beacon charged and dry, and tell them "
                     "if anything changes (an injury, feeling worse, food or water running out).")  # fmt: skip
    else:
        parts.append("If you can reach emergency services or anyone nearby, do.")
    if not need.displaced:  # a camp, a war, a flood: "once you're home" is not theirs to plan
        parts.append("Once you're home, a small vegan emergency kit (nut butter, energy bars, dried fruit, a water "
                     "filter) packed for next time is the harm reduction that counts.")  # fmt: skip
    return " ".join(parts)


def _treatment_answer(need: HealthNeed) -> str:
    subj, obj, poss = need.pronouns
    self_ = need.patient == "you"
    who = need.patient
    if not self_ and subj == "they":  # "your baby's health", not "their health" beside "ask them"
        subj, obj, poss = who, who, f"{who}'s"
    your = "your" if self_ else poss
    needs = "you need" if self_ else f"{subj} needs"
    # whose veganism it touches: "your dad", unless "I'm vegan, dad isn't" (then the carer's, "you")
    family = "you" if self_ else (who if need.patient_vegan else "you") if need.adult else "your family"
    pet = re.search(rf"\b(?:{_PET_WORDS})$", who) is not None
    clinician = need.clinician or (
        "your vet" if pet else "your doctor or pharmacist" if self_ or need.adult else f"{poss} doctor or nurse"
    )
    treatment = need.treatment or "the treatment"
    kind = need.treatment_kind
    if kind == "therapy":
        the_treatment = treatment  # "oral immunotherapy", "chemo"
    elif kind == "medicine" and need.decided and self_:
        the_treatment = f"your {treatment}"  # "your omeprazole capsules"
    else:
        the_treatment = f"the {treatment}"  # "the ketogenic diet", "the tetanus shot", "the fever medicine"
    it = _them(treatment)
    # An adult relative decides for themself: "your father should keep taking ...".
    should = f"{who[0].upper()}{who[1:]} should " if need.adult else ""
    guide = f"{clinician} or a pharmacist" if kind == "medicine" and "pharmacist" not in clinician and not pet \
        else clinician  # fmt: skip
    parts = []
    if need.choice and not need.side_effect:
        # "A tissue valve (from a pig or cow) or a mechanical one": which to have, not whether.
        parts.append(f"Which option to have is a medical decision to make with {clinician}: ask them plainly what each "
                     f"would mean for {'you' if self_ else who} (how long it lasts, the medicines it needs afterwards, "
                     "the risks), and choose on that.")  # fmt: skip
        if need.conflict:
            parts.append("Your health comes first, and either choice is consistent with vegan ethics. "
                         + _VALUES.format(what=f"a treatment {needs}", who=family))  # fmt: skip
        parts.append("If a medicine comes with it, don't change your diet or the dose on your own: ask how to fit the "
                     "two together, since clinics adjust doses around what people eat.")  # fmt: skip
        return " ".join(parts)
    if need.decided and need.side_effect:
        # "He threw up and his poop is black", "headaches since I started it": who prescribed it, now.
        unwell = "you feel" if self_ else f"{subj} {'seem' if subj == 'they' else 'seems'}"
        parts.append(f"Call {guide} today about what you're noticing, before the next dose is due, and get urgent "
                     f"care now ({'an emergency vet' if pet else 'emergency services'}) if {unwell} very unwell or it "
                     f"gets worse. Don't change the treatment on your own before you've spoken to them.")  # fmt: skip
    elif need.decided:
        if kind == "once":
            parts.append(
                f"{should or ''}{'G' if not should else 'g'}o ahead with {the_treatment} as {clinician} "
                f"advised, and don't put it off: delaying it can put {your} health at real risk."
            )
        elif kind == "medicine":
            using = (
                "using"
                if re.search(r"inhaler|patch|drops|dressing|cream|ointment|spray", treatment, re.I)
                else "taking"
            )
            keep = (f"{should}keep {using} {the_treatment}" if should else f"Keep {using} {the_treatment}" if self_
                    else f"Keep giving {who} {the_treatment}")  # fmt: skip
            dont = "not" if should else "don't"
            parts.append(f"{keep} exactly as directed, and {dont} stop, skip or swap {it} "
                         f"on {poss if should else 'your'} own: stopping or delaying a treatment {needs} can put "
                         f"{your} health at real risk.")  # fmt: skip
        elif kind == "diet":
            parts.append(
                f"{should}{'k' if should else 'K'}eep to {the_treatment} exactly as {clinician} set it up: "
                f"it is what {your} health needs now, so don't change, stop or add to it on your own."
            )
            if "formula" in treatment.lower() and not self_:
                parts.append("Never give homemade or shop-bought plant milk in place of formula: it cannot feed a "
                             "baby safely.")  # fmt: skip
        else:
            parts.append(f"{should}{'k' if should else 'K'}eep going with {the_treatment} exactly as {clinician} "
                         "planned it, without changing, pausing or adding to it on your own.")  # fmt: skip
    if need.decided:
        if need.conflict:
            what = f"the {treatment} {needs}" if kind == "diet" else f"a treatment {needs}"
            parts.append(f"My vegan ethics policy puts {your} health first. " + _VALUES.format(what=what, who=family))
        if not need.side_effect:
            parts.append(f"For any practical question about it (how to give it, timing, side effects, what to do if "
                         f"something goes wrong), {guide}, the leaflet or the instructions you were given are the "
                         f"right guide: ask them, they would rather you call than guess.")  # fmt: skip
        if need.conflict and kind in ("medicine", "once"):
            parts.append(f"If the ingredients matter to {'you' if not need.adult else obj}, ask {clinician} "
                         + ("at the next prescription " if kind == "medicine" else "")
                         + f"whether an equivalent without animal ingredients would suit {'you' if self_ else obj}; "
                         "sometimes there is one, and if not, the treatment still comes first.")  # fmt: skip
        elif need.conflict and kind == "diet":
            parts.append(f"If you'd like it more plant-based, ask {clinician} what could change without risk; "
                         "clinical teams adapt plans for vegan and vegetarian families, and where they can't, "
                         "following their plan is the right call.")  # fmt: skip
    else:
        decides = f"for {who} to make" if need.adult else "to make"
        parts.append(
            f"Whether to go ahead with {the_treatment} is a medical decision {decides} with {clinician}, "
            f"based on {your} health, not on what {'you eat' if self_ else 'anyone eats'}: {your} health comes first."
        )
        parts.append(f"Ask plainly what {'you' if self_ else who} would risk without it and what it would "
                     "change, and decide with that.")  # fmt: skip
        parts.append(
            "If they recommend it, take their advice."
            + (" " + _VALUES.format(what=f"a treatment {needs}", who=family) if need.conflict else "")
        )
        parts.append("Until then, keep to the plan you already have.")
    if need.anaphylaxis:
        parts.append(f"Keep the adrenaline auto-injector with {'you' if self_ else obj}, and follow the allergy "
                     "action plan you were given: it says when to use it and when to call emergency "
                     "services.")  # fmt: skip
    return " ".join(parts)


_PLURAL = re.compile(r"\b(?:tablets|capsules|caps|pills|injections|shots|jabs|drops|patches|chewables|pens|infusions|"
                     r"statins|antibiotics|meds|medications|vaccines|hormones|supplements)$", re.I)  # fmt: skip


def _them(treatment: str) -> str:
    return "them" if _PLURAL.search(treatment) else "it"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""
