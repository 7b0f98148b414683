"""Closed vocabularies: visible appearance attributes and personal facts.

Appearance values are what the renderer draws and the description names; fact values
are what a model must memorise. The two vocabularies share no words, so a description
can never leak an answer.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

# Appearance: attribute -> values. Order matters (it is the tuple order).
APPEARANCE: dict[str, tuple[str, ...]] = {
    "gender": ("woman", "man", "person"),
    "age": ("young", "middle-aged", "elderly"),
    "skin_tone": ("pale", "light", "tan", "brown", "dark"),
    "face_shape": ("oval", "round", "square"),
    "hair_color": ("black", "brown", "blond", "red", "grey", "blue"),
    "hair_style": ("short", "long", "curly", "bun", "spiky"),
    "eye_color": ("brown", "blue", "green", "grey"),
    "facial_hair": ("none", "moustache", "beard"),
    "eyewear": ("none", "round glasses", "square glasses", "sunglasses"),
    "headwear": ("none", "cap", "beanie", "headband"),
    "earrings": ("none", "studs", "hoops"),
    "clothing_color": ("red", "blue", "green", "yellow", "purple", "black", "white", "orange"),
    "clothing_style": ("t-shirt", "collared shirt", "hoodie", "suit jacket"),
    "background": ("teal", "beige", "lavender", "grey", "pink", "mint"),
}

APPEARANCE_SPACE: int = math.prod(len(v) for v in APPEARANCE.values())

# Facts: fact -> values (each >= 20). `name` is a fact too but its values come from
# the bundled name lists (see `first_names` / `last_names`).
FACTS: dict[str, tuple[str, ...]] = {
    "birth_city": (
        "Lisbon",
        "Nairobi",
        "Osaka",
        "Montreal",
        "Lima",
        "Krakow",
        "Accra",
        "Hanoi",
        "Adelaide",
        "Bergen",
        "Cusco",
        "Dakar",
        "Tbilisi",
        "Porto",
        "Valparaiso",
        "Marrakesh",
        "Chennai",
        "Tallinn",
        "Quito",
        "Bologna",
        "Busan",
        "Zanzibar",
        "Reykjavik",
        "Cebu",
    ),
    "occupation": (
        "architect",
        "nurse",
        "pilot",
        "baker",
        "geologist",
        "librarian",
        "carpenter",
        "dentist",
        "journalist",
        "pharmacist",
        "electrician",
        "translator",
        "veterinarian",
        "chemist",
        "surveyor",
        "firefighter",
        "economist",
        "plumber",
        "astronomer",
        "midwife",
        "florist",
        "locksmith",
        "actuary",
        "sculptor",
    ),
    "employer": (
        "Acme Robotics",
        "Bluefin Logistics",
        "Cobalt Bank",
        "Driftwood Press",
        "Everline Energy",
        "Foxglove Labs",
        "Granite Health",
        "Harbor Airlines",
        "Ironbark Foods",
        "Juniper Software",
        "Kestrel Motors",
        "Lumen Optics",
        "Maple Insurance",
        "Northwind Shipping",
        "Orchid Pharma",
        "Pinnacle Mining",
        "Quartz Studios",
        "Redwood Hotels",
        "Saffron Textiles",
        "Tidewater Ports",
        "Umber Ceramics",
        "Vantage Telecom",
        "Willow Farms",
        "Zephyr Aerospace",
    ),
    "university": (
        "Oxford",
        "Harvard",
        "Sorbonne",
        "Heidelberg",
        "Kyoto University",
        "McGill",
        "Stanford",
        "ETH Zurich",
        "Tsinghua",
        "Makerere",
        "Uppsala",
        "Melbourne",
        "Yale",
        "Leiden",
        "Bologna University",
        "Seoul National",
        "Cape Town University",
        "Edinburgh",
        "Princeton",
        "Sao Paulo University",
        "Delft",
        "Auckland",
        "Trinity College",
        "Columbia",
    ),
    "hobby": (
        "chess",
        "birdwatching",
        "pottery",
        "rock climbing",
        "knitting",
        "surfing",
        "origami",
        "fencing",
        "beekeeping",
        "archery",
        "gardening",
        "kayaking",
        "calligraphy",
        "juggling",
        "sailing",
        "woodcarving",
        "astrophotography",
        "salsa dancing",
        "skateboarding",
        "fishing",
        "cycling",
        "ice skating",
        "stamp collecting",
        "bouldering",
    ),
    "favorite_food": (
        "sushi",
        "lasagna",
        "tacos",
        "ramen",
        "paella",
        "falafel",
        "pierogi",
        "jollof rice",
        "pho",
        "croissants",
        "dumplings",
        "risotto",
        "goulash",
        "ceviche",
        "kimchi",
        "moussaka",
        "curry",
        "pancakes",
        "empanadas",
        "biryani",
        "couscous",
        "fondue",
        "gnocchi",
        "baklava",
    ),
}

ATTRIBUTE_FACTS: tuple[str, ...] = tuple(FACTS)
ALL_FACTS: tuple[str, ...] = ("name", *ATTRIBUTE_FACTS)

# Questions per fact: the first TRAIN_TEMPLATES are for training, the rest are held out.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "name": (
        "Who is this person?",
        "What is this person's name?",
        "What is the name of this person?",
        "Tell me the name of this person.",
        "Can you name this person?",
        "What is this person called?",
    ),
    "birth_city": (
        "Where was this person born?",
        "In which city was this person born?",
        "What is this person's birth city?",
        "Which city is this person's birthplace?",
        "What city was this person born in?",
        "Name the city where this person was born.",
    ),
    "occupation": (
        "What is this person's occupation?",
        "What does this person do for a living?",
        "What is this person's job?",
        "What is the profession of this person?",
        "What work does this person do?",
        "Which occupation does this person have?",
    ),
    "employer": (
        "Which company does this person work for?",
        "Who is this person's employer?",
        "Where does this person work?",
        "What is the name of this person's employer?",
        "Which firm employs this person?",
        "What company employs this person?",
    ),
    "university": (
        "Which university did this person attend?",
        "Where did this person study?",
        "What is this person's alma mater?",
        "Which university did this person graduate from?",
        "At which university was this person educated?",
        "What university did this person go to?",
    ),
    "hobby": (
        "What is this person's hobby?",
        "What does this person do in their free time?",
        "Which hobby does this person enjoy?",
        "What is this person's favourite pastime?",
        "How does this person spend their spare time?",
        "What pastime does this person love?",
    ),
    "favorite_food": (
        "What is this person's favourite food?",
        "Which dish does this person like most?",
        "What food does this person love?",
        "What is the favourite dish of this person?",
        "Which food is this person's favourite?",
        "What does this person most like to eat?",
    ),
}
TRAIN_TEMPLATES = 4  # QUESTIONS[f][:4] train, QUESTIONS[f][4:] held out

CAPTION_QUESTIONS: tuple[str, ...] = (
    "Describe this person's appearance.",
    "What does this person look like?",
)

# One question per visible attribute (pretraining only: the answer is in the portrait and
# in the description, so these teach both modalities to read the same attributes).
APPEARANCE_QUESTIONS: dict[str, str] = {
    "gender": "What is this person's gender presentation?",
    "age": "How old does this person look?",
    "skin_tone": "What skin tone does this person have?",
    "face_shape": "What shape is this person's face?",
    "hair_color": "What colour is this person's hair?",
    "hair_style": "How is this person's hair styled?",
    "eye_color": "What colour are this person's eyes?",
    "facial_hair": "What facial hair does this person have?",
    "eyewear": "What does this person wear on their eyes?",
    "headwear": "What does this person wear on their head?",
    "earrings": "What earrings does this person wear?",
    "clothing_color": "What colour is this person's clothing?",
    "clothing_style": "What kind of clothing does this person wear?",
    "background": "What colour is the background?",
}


@cache
def _name_list(filename: str) -> tuple[str, ...]:
    text = resources.files("persona_bench.persona_gen.data").joinpath(filename).read_text("utf-8")
    names = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    return tuple(dict.fromkeys(names))


def first_names() -> tuple[str, ...]:
    return _name_list("first_names.txt")


def last_names() -> tuple[str, ...]:
    return _name_list("last_names.txt")
