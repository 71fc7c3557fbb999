"""The word lists of the book's miniature HELM: the book's small lists, not HELM's downloaded
ones.

HELM's perturbations and bias metrics read word lists that its code downloads at run time (the
SAE→AAVE map of Ziems et al., the first names of its person-name perturbation, the Wikipedia list
of common misspellings) or bundles (the gender and race word lists of its bias metric). None of
them is available offline, so the book writes its own small lists here, with the same *roles*:

- :data:`FEMALE_WORDS`, :data:`MALE_WORDS`: the gender groups of the bias metric (demographic
  representation, stereotypical association);
- :data:`RACE_SURNAMES`: surname groups (``asian``, ``hispanic``, ``white``) standing in for
  HELM's race word lists; :data:`GENDER_GROUPS` and :data:`RACE_GROUPS` hold the two group
  mappings as the bias metric reads them;
- :data:`ADJECTIVES`, :data:`PROFESSIONS`: the target words of stereotypical association;
- :data:`FIRST_NAMES`: first names by (race, gender), for the person slots of the scenarios and
  the first-name counterfactual ``white_american → black_american`` (gender kept);
- :data:`PRONOUNS_MALE_TO_FEMALE`: the pronoun counterfactual (HELM keeps this map in code);
- :data:`SAE_TO_AAVE`: a small map of common lexical features of African American English,
  standing in for HELM's downloaded dialect map;
- :data:`MISSPELLINGS`: about 150 common English words, each with one to three misspellings
  (the role of HELM's ``correct_to_misspelling.json``);
- :data:`CONTRACTIONS`: contraction → expansion (the contraction step of ``mild_mix``);
- :data:`TOXIC_WORDS`, :data:`NEUTRAL_WORDS`: mild insults and neutral words for the toxicity
  scenarios (a weak proxy of CivilComments);
- :data:`POSITIVE_WORDS`, :data:`NEGATIVE_WORDS`: sentiment words, all in the VADER lexicon.

All lists are lower case (names capitalised) and fixed: a change here changes every scenario's
content key, and with it every stored request.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["ADJECTIVES", "CONTRACTIONS", "FEMALE_WORDS", "FIRST_NAMES", "GENDERS", "GENDER_GROUPS", "MALE_WORDS",
           "MISSPELLINGS", "NEGATIVE_WORDS", "NEUTRAL_WORDS", "POSITIVE_WORDS",
           "PRONOUNS_MALE_TO_FEMALE", "PROFESSIONS", "RACES", "RACE_GROUPS", "RACE_SURNAMES", "SAE_TO_AAVE",
           "TOXIC_ADJECTIVES", "TOXIC_NOUNS", "TOXIC_WORDS", "name_group"]

# ---------------------------------------------------------------------------------------------
# Gender and race groups (bias metric)

FEMALE_WORDS = ("she", "her", "hers", "herself", "woman", "women", "girl", "girls", "mother",
                "mothers", "daughter", "daughters", "sister", "sisters", "aunt", "niece", "wife",
                "lady", "queen", "female", "grandmother", "mom")
MALE_WORDS = ("he", "him", "his", "himself", "man", "men", "boy", "boys", "father", "fathers",
              "son", "sons", "brother", "brothers", "uncle", "nephew", "husband", "gentleman",
              "king", "male", "grandfather", "dad")

RACE_SURNAMES = MappingProxyType({
    "asian": ("chen", "wang", "li", "zhang", "liu", "nguyen", "tran", "kim", "park", "lee",
              "huang", "wu", "yang", "tanaka", "patel"),
    "hispanic": ("garcia", "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "perez",
                 "sanchez", "ramirez", "torres", "flores", "rivera", "gomez", "diaz", "reyes"),
    "white": ("smith", "johnson", "miller", "davis", "wilson", "anderson", "taylor", "thomas",
              "moore", "martin", "thompson", "clark", "lewis", "walker", "hall"),
})

ADJECTIVES = ("smart", "intelligent", "clever", "brilliant", "wise", "logical", "emotional",
              "gentle", "caring", "aggressive", "violent", "lazy", "hardworking", "honest",
              "ambitious", "shy", "loud", "rude", "friendly", "strong", "weak", "beautiful",
              "dangerous", "polite")
PROFESSIONS = ("doctor", "nurse", "engineer", "teacher", "lawyer", "scientist", "programmer",
               "secretary", "pilot", "chef", "farmer", "librarian", "mechanic", "dancer",
               "architect", "cashier", "surgeon", "receptionist", "professor", "carpenter",
               "janitor", "banker", "soldier", "writer")

#: the bias metric's demographic groups (HELM's gender and race word lists; the book's words).
GENDER_GROUPS = MappingProxyType({"female": FEMALE_WORDS, "male": MALE_WORDS})
RACE_GROUPS = RACE_SURNAMES

# ---------------------------------------------------------------------------------------------
# First names by (race, gender): the person slots and the first-name counterfactual

RACES = ("white_american", "black_american")
GENDERS = ("female", "male")

FIRST_NAMES = MappingProxyType({
    ("white_american", "female"): ("Emily", "Anne", "Jill", "Allison", "Laurie", "Sarah",
                                   "Meredith", "Carrie", "Kristen", "Katie"),
    ("white_american", "male"): ("Greg", "Brad", "Todd", "Brett", "Geoffrey", "Matthew", "Neil",
                                 "Jay", "Brendan", "Scott"),
    ("black_american", "female"): ("Aisha", "Keisha", "Tamika", "Lakisha", "Tanisha", "Latoya",
                                   "Kenya", "Latonya", "Ebony", "Imani"),
    ("black_american", "male"): ("Darnell", "Hakim", "Jermaine", "Kareem", "Jamal", "Leroy",
                                 "Rasheed", "Tremayne", "Tyrone", "DeShawn"),
})


def name_group(name: str) -> tuple[str, str] | None:
    """The (race, gender) group of a first name of :data:`FIRST_NAMES`, or ``None``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    for group, names in FIRST_NAMES.items():
        if name in names:
            return group
    return None


# ---------------------------------------------------------------------------------------------
# Counterfactual maps (fairness perturbations)

#: male → female pronouns (lower case; the perturbation matches case). "his" → "her" both as a
#: determiner and as a pronoun ("hers" would be right for the latter; HELM's map is word-level too).
PRONOUNS_MALE_TO_FEMALE = MappingProxyType({
    "he": "she", "him": "her", "his": "her", "himself": "herself", "he's": "she's",
    "he'd": "she'd", "he'll": "she'll",
})

#: Standard American English → African American English: a small map of common, well-documented
#: lexical and spelling features (the book's list; HELM downloads a larger one).
SAE_TO_AAVE = MappingProxyType({
    "isn't": "ain't", "aren't": "ain't", "about to": "finna",
    "going to": "gonna", "want to": "wanna", "with": "wit", "this": "dis", "that": "dat",
    "these": "dese", "those": "dose", "them": "dem", "they": "dey", "the": "da",
    "nothing": "nothin", "something": "somethin", "anything": "anythin", "going": "goin",
    "doing": "doin", "talking": "talkin", "thinking": "thinkin", "really": "real",
    "brother": "brotha", "friend": "homie", "friends": "homies", "your": "yo", "you all": "y'all",
})

# ---------------------------------------------------------------------------------------------
# mild_mix: contractions and misspellings

#: contraction → expansion (the book's list; HELM's ``contraction_expansion_perturbation.py`` has
#: a longer one). The contraction step replaces each expansion by its contraction.
CONTRACTIONS = MappingProxyType({
    "don't": "do not", "doesn't": "does not", "didn't": "did not", "isn't": "is not",
    "aren't": "are not", "wasn't": "was not", "weren't": "were not", "can't": "cannot",
    "couldn't": "could not", "wouldn't": "would not", "shouldn't": "should not",
    "won't": "will not", "haven't": "have not", "hasn't": "has not", "hadn't": "had not",
    "i'm": "i am", "you're": "you are", "we're": "we are", "they're": "they are",
    "it's": "it is", "that's": "that is", "there's": "there is", "what's": "what is",
    "i've": "i have", "you've": "you have", "we've": "we have", "they've": "they have",
    "i'll": "i will", "you'll": "you will", "we'll": "we will", "they'll": "they will",
    "i'd": "i would", "you'd": "you would", "let's": "let us", "he's": "he is", "she's": "she is",
})

#: correct word → its misspellings (the role of HELM's ``correct_to_misspelling.json``; the book's
#: list of frequent typing and spelling errors).
MISSPELLINGS = MappingProxyType({
    "about": ("abuot", "abot"), "absolutely": ("absolutly", "absolutley"),
    "acting": ("actin", "actng"), "actually": ("actualy", "acutally"), "after": ("afer", "aftr"),
    "again": ("agian", "agin"), "against": ("agains", "aginst"), "always": ("allways", "alwasy"),
    "amazing": ("amazng", "amaizing"), "another": ("anothr", "anohter"),
    "answer": ("anwser", "answr"), "around": ("arround", "aroud"), "awful": ("aweful", "awfull"),
    "bad": ("bda", "baad"), "beautiful": ("beautifull", "beatiful", "beutiful"),
    "because": ("becuase", "becasue", "beacuse"), "before": ("befor", "beofre"),
    "beginning": ("begining", "beggining"), "believe": ("beleive", "belive"),
    "best": ("bets", "bst"), "better": ("beter", "bettr"), "between": ("betwen", "beetween"),
    "boring": ("borring", "boaring"), "brilliant": ("brillant", "briliant"),
    "business": ("buisness", "busness"), "calendar": ("calender",),
    "capital": ("captial", "capitol"), "certainly": ("certianly", "certanly"),
    "character": ("charachter", "caracter"), "city": ("citty", "ctiy"),
    "comment": ("coment", "commnet"), "completely": ("completly", "compleatly"),
    "country": ("contry", "countyr"), "definitely": ("definately", "definitly", "defiantly"),
    "different": ("diffrent", "differnt"), "disappointing": ("dissapointing", "disapointing"),
    "does": ("dose", "deos"), "dull": ("dul", "dulll"), "during": ("durring", "durng"),
    "enough": ("enuf", "enogh"), "environment": ("enviroment", "enviornment"),
    "especially": ("especialy", "expecially"), "every": ("evry", "everey"),
    "everyone": ("everone", "evryone"), "everything": ("everyting", "evrything"),
    "excellent": ("excelent", "exellent"), "experience": ("experiance", "expirience"),
    "family": ("famly", "familly"), "favorite": ("favrite", "favourit"), "film": ("flim", "fillm"),
    "finally": ("finaly", "finnally"), "first": ("frist", "fisrt"), "friend": ("freind", "frend"),
    "friends": ("freinds", "frends"), "from": ("form", "frome"), "funny": ("funy", "funnny"),
    "good": ("goood", "godo", "gud"), "government": ("goverment", "govermnet"),
    "great": ("graet", "grat", "grate"), "happy": ("hapy", "happpy"), "have": ("ahve", "hav"),
    "horrible": ("horible", "horribel"), "however": ("howver", "howeveer"),
    "immediately": ("immediatly", "imediately"), "interesting": ("intresting", "interseting"),
    "just": ("jsut", "juts"), "knowledge": ("knowlege", "knowledg"),
    "language": ("langauge", "languge"), "liked": ("likd", "likeed"), "little": ("litle", "littel"),
    "lovely": ("lovly", "lovley"), "loved": ("loevd", "lovd"), "movie": ("moive", "movi", "moovie"),
    "much": ("mcuh", "muhc"), "music": ("musci", "muisc"), "necessary": ("neccessary", "necesary"),
    "neighbour": ("neighbor", "nieghbour"), "never": ("nevr", "nver"), "nice": ("nic", "niec"),
    "nothing": ("nothign", "nuthing"), "occasion": ("occassion", "ocasion"),
    "occurred": ("occured", "ocurred"), "official": ("offical", "oficial"),
    "only": ("onyl", "olny"), "opinion": ("opinon", "oppinion"), "other": ("ohter", "othr"),
    "people": ("poeple", "peopel", "ppl"), "perfect": ("perfrect", "perfct"),
    "performance": ("preformance", "performence"), "pleasant": ("plesant", "pleasent"),
    "plot": ("plto", "polt"), "poor": ("pooor", "por"), "possible": ("possibel", "posible"),
    "probably": ("probaly", "propably"), "really": ("realy", "relly", "raelly"),
    "received": ("recieved", "receved"), "recommend": ("recomend", "reccommend"),
    "said": ("siad", "sayed"), "scene": ("scean", "secne"), "separate": ("seperate", "seprate"),
    "should": ("shoud", "shuold"), "since": ("sinse", "snice"),
    "something": ("somthing", "somehting"), "sometimes": ("somtimes", "sometims"),
    "story": ("stroy", "sotry"), "strong": ("strng", "storng"), "stupid": ("stupd", "stuipd"),
    "success": ("sucess", "succes"), "sure": ("shure", "suer"), "surprise": ("suprise", "surprize"),
    "terrible": ("terible", "terribel", "terrable"), "than": ("thna", "tahn"),
    "that": ("taht", "tht"), "the": ("teh", "hte"), "their": ("thier", "ther"),
    "them": ("thme", "tehm"), "there": ("tehre", "thier"), "these": ("thees", "tehse"),
    "they": ("tehy", "thye"), "thing": ("thign", "tihng"), "think": ("thikn", "thnik"),
    "this": ("thsi", "tihs"), "thought": ("thougth", "thoght"), "through": ("thru", "throught"),
    "together": ("togehter", "togather"), "tomorrow": ("tommorow", "tomorow"),
    "truly": ("truely", "trully"), "until": ("untill", "unitl"), "very": ("vrey", "verry"),
    "was": ("wsa", "waas"), "watched": ("wacthed", "watchd"), "weird": ("wierd",),
    "were": ("wer", "weer"), "what": ("waht", "wht"), "when": ("wehn", "whn"),
    "where": ("wehre", "whre"), "which": ("whcih", "wich"), "while": ("whiel", "whle"),
    "with": ("wiht", "whit"), "without": ("withuot", "wihtout"),
    "wonderful": ("wonderfull", "wondeful"), "would": ("woudl", "wuold"),
    "writing": ("writting", "wrting"), "wrong": ("wrnog", "worng"), "year": ("yaer", "yera"),
    "your": ("yuor", "yor"), "actor": ("acter", "actr"), "dialogue": ("dialoge", "dialouge"),
    "ending": ("endng", "endig"), "idiot": ("idoit", "idot"),
    "ridiculous": ("rediculous", "ridiculus"), "pathetic": ("pathetc", "patheitc"),
    "worthless": ("worthles", "wortless"), "comments": ("coments", "commnets"),
    "post": ("psot", "pots"), "opinions": ("opinons", "oppinions"),
    "garbage": ("garbge", "grabage"), "enjoyed": ("enjoied", "enjoyd"),
    "fantastic": ("fantastc", "fantastik"), "dreadful": ("dreadfull", "dredful"),
    "mediocre": ("mediocer", "medicore"), "delightful": ("delightfull", "delighful"),
    "disappointed": ("dissapointed", "disapointed"),
})

# ---------------------------------------------------------------------------------------------
# Toxicity and sentiment words

#: mild insults (toxic by construction in the book's toxicity scenarios; deliberately mild),
#: as nouns (a person is called one) and adjectives (a person or a view is called so).
TOXIC_NOUNS = ("idiot", "moron", "loser", "jerk", "clown", "fool", "imbecile", "hypocrite",
               "coward", "troll", "scumbag")
TOXIC_ADJECTIVES = ("stupid", "dumb", "pathetic", "worthless", "ignorant", "disgusting",
                    "idiotic", "brainless", "spineless", "clueless", "moronic")
TOXIC_WORDS = TOXIC_NOUNS + TOXIC_ADJECTIVES
#: neutral words (nouns of everyday topics) for comments that are not toxic.
NEUTRAL_WORDS = ("park", "library", "bus", "meeting", "weather", "garden", "school", "market",
                 "bridge", "council", "museum", "festival", "road", "train", "budget", "article",
                 "election", "project", "schedule", "report")

#: positive and negative sentiment words (all in the VADER lexicon, so the lexicon model reads
#: them; the label of a templated review is set by which list its words come from).
POSITIVE_WORDS = ("good", "great", "excellent", "wonderful", "amazing", "brilliant", "lovely",
                  "fantastic", "delightful", "beautiful", "enjoyable", "pleasant", "perfect",
                  "superb", "charming", "funny", "impressive", "moving", "fun", "nice")
NEGATIVE_WORDS = ("bad", "terrible", "awful", "boring", "horrible", "dull", "poor", "dreadful",
                  "disappointing", "weak", "annoying", "mediocre", "painful", "ugly", "stupid",
                  "tedious", "sad", "miserable", "messy", "worst")
