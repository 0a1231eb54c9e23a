"""guard.latin_lang: the language of a Latin-script text from its function words."""
from guard.latin_lang import latin_lang, stated_latin_lang


def test_latin_lang_guesses_with_a_default():
    assert latin_lang("a cat on the roof") == "en"
    assert latin_lang("un chat sur le toit") == "fr"
    assert latin_lang("Pikachu 4k") == "en"  # no function word: English
    assert latin_lang("Pikachu 4k", hint="de") == "de"  # ... unless the alias says otherwise


def test_stated_latin_lang_names_a_language_only_on_evidence():
    assert stated_latin_lang("a cat on the roof") == "en"
    assert stated_latin_lang("los platos en la cocina") == "es"
    assert stated_latin_lang("il gatto sulla finestra") == "it"
    assert stated_latin_lang("Pikachu 4k") is None  # no function word
    assert stated_latin_lang("Pikachu riding a horse") == "en"
    assert stated_latin_lang("la luna") is None  # "la": French, Spanish or Italian


def test_a_letter_only_one_language_writes_counts_as_a_function_word():
    assert stated_latin_lang("Toma aérea de montañas nevadas") == "es"  # "de": Spanish or French; ñ: Spanish
    assert latin_lang("TOMA DE MONTAÑAS") == "es"
    assert stated_latin_lang("Straße bei Nacht") == "de"
    assert stated_latin_lang("une vue de la mer") == "fr"


def test_de_alone_is_shared_by_french_and_spanish():
    assert stated_latin_lang("Toma aerea de montanas") is None  # without the ñ: Spanish or French
    assert stated_latin_lang("de noche") is None


def test_a_capital_ss_is_no_german_letter():
    assert stated_latin_lang("BOSS FIGHT à minuit") is None  # "ß".upper() is "SS"
    assert stated_latin_lang("STRAẞE bei Nacht") == "de"  # the capital ß
