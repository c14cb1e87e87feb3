import pytest

from servicemap.normalize import (
    InvalidCoordinate,
    InvalidEmail,
    clean_name,
    clean_text,
    detect_language,
    normalize_email,
    normalize_website,
    parse_coordinate,
)
from servicemap.urls import InvalidURL

CLEANED = [
    ("  Buurtteam   Noord ", "Buurtteam Noord"),
    ("Buurtteam\u00a0Noord", "Buurtteam Noord"),
    ("<h1>Buurtteam <b>Noord</b></h1>", "Buurtteam Noord"),
    ("Schuldhulp &amp; budgetcoaching", "Schuldhulp & budgetcoaching"),
    ("&amp;lt;p&amp;gt;Maatjesproject&amp;lt;/p&amp;gt;", "Maatjesproject"),
    ("<p>Hulp bij schulden.</p><p>Lees meer &raquo;</p>", "Hulp bij schulden."),
    ("Hulp bij schulden... Lees meer", "Hulp bij schulden"),
    ("Wij helpen bij formulieren.<br>Meer informatie", "Wij helpen bij formulieren."),
    ("Wij helpen bij formulieren.\nDeel deze pagina", "Wij helpen bij formulieren."),
    (
        "Wij gebruiken cookies om de website te verbeteren. Het buurtteam helpt bij vragen over geld.",
        "Het buurtteam helpt bij vragen over geld.",
    ),
    ("<script>var x = 1;</script>Taalcafé", "Taalcafé"),
    ("<!-- menu -->Taalcafé<style>p {color: red}</style>", "Taalcafé"),
    ("<p>Eerste alinea.</p>\n\n<p>Tweede   alinea.</p>", "Eerste alinea.\nTweede alinea."),
    ("Voor 18+ & ouders: 3 < 5", "Voor 18+ & ouders: 3 < 5"),
    ("Lees meer", ""),
    ("<p>&nbsp;</p>", ""),
    ("<ul><li>Geld</li><li>Wonen</li></ul>", "Geld\nWonen"),
    ("Tekst&#39;s &eacute;&eacute;n", "Tekst's één"),
    ("Hulp &amp;amp; advies", "Hulp & advies"),
    ("Hulp.\r\n\r\nAdvies.", "Hulp.\nAdvies."),
    ("Hulp bij geld <a href='/x'>Lees meer</a>", "Hulp bij geld"),
    ("Hulp bij geld. Read more »", "Hulp bij geld."),
    ("Vrijdag&nbsp;&nbsp;gesloten", "Vrijdag gesloten"),
    ('<div class="x">Hulp</div><script>alert(1)</script>', "Hulp"),
    ("Wmo-loket<br/>Gemeente Lindeloo", "Wmo-loket\nGemeente Lindeloo"),
    ("a<b", "a<b"),
    ("  \t ", ""),
    ("Lees verder", ""),
    ("Naar boven", ""),
    ("Meer informatie »", ""),
    ("Read more", ""),
    ("Home", ""),
    ("Deel deze pagina", ""),
    ("Cookies: wij plaatsen cookies. Accepteren", ""),
    ("Wij gebruiken cookies.\nAlle cookies accepteren\nHet buurtteam helpt.", "Het buurtteam helpt."),
    # the word 'cookie' in a sentence that is not a banner stays
    (
        "Bakken met de Cookie Monster is een activiteit voor kinderen.",
        "Bakken met de Cookie Monster is een activiteit voor kinderen.",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), CLEANED)
def test_text_without_markup_and_page_furniture(raw, expected):
    assert clean_text(raw) == expected


def test_a_name_is_one_line():
    assert clean_name("Buurtteam\n   Noord") == "Buurtteam Noord"


LANGUAGES = [
    (
        "Het buurtteam helpt u bij vragen over geld, wonen, zorg en opvoeding. U kunt zonder verwijzing "
        "bij ons terecht; wij komen ook bij u thuis.",
        "nl",
    ),
    (
        "Mantelzorgers kunnen bij het steunpunt terecht voor advies, een luisterend oor en respijtzorg.",
        "nl",
    ),
    (
        "The neighbourhood team helps you with questions about money, housing and care. You can walk in "
        "without a referral and we also visit you at home.",
        "en",
    ),
    ("Language café for newcomers who want to practise their Dutch with volunteers.", "en"),
    ("Buurtteam Noord", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), LANGUAGES)
def test_language_of_ordinary_paragraphs(text, expected):
    assert detect_language(text) == expected


EMAILS = [
    ("info@buurtteam.nl", "info@buurtteam.nl"),
    ("Info@Buurtteam.NL", "info@buurtteam.nl"),
    ("mailto:info@buurtteam.nl", "info@buurtteam.nl"),
    ("MAILTO:Info@Buurtteam.nl?subject=Vraag", "info@buurtteam.nl"),
    (" <info@buurtteam.nl> ", "info@buurtteam.nl"),
    ("info [at] buurtteam.nl", "info@buurtteam.nl"),
    ("info(at)buurtteam(dot)nl", "info@buurtteam.nl"),
    ("j.de-vries+wmo@gemeente-brederwijk.nl", "j.de-vries+wmo@gemeente-brederwijk.nl"),
    ("E: info@welzijn-lindeloo.nl", "info@welzijn-lindeloo.nl"),
    ("e-mail: info@welzijn.nl", "info@welzijn.nl"),
    ("Email: Info@Welzijn.nl", "info@welzijn.nl"),
    ("info @ welzijn.nl", "info@welzijn.nl"),
    ("info@welzijn.nl.", "info@welzijn.nl"),
    ("(info@welzijn.nl)", "info@welzijn.nl"),
    ("INFO@WELZIJN.NL", "info@welzijn.nl"),
    ("i.de.vries@welzijn.nl", "i.de.vries@welzijn.nl"),
    ("info@welzijn.frl", "info@welzijn.frl"),
    ("mailto:info@welzijn.nl?subject=Aanmelding&body=Hallo", "info@welzijn.nl"),
]


@pytest.mark.parametrize(("raw", "expected"), EMAILS)
def test_email_lowercased_without_mailto(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "info@",
        "@buurtteam.nl",
        "info@buurtteam",
        "a..b@x.nl",
        "info buurtteam.nl",
        "",
        "info@@welzijn.nl",
        "info@welzijn..nl",
        "info@-welzijn.nl",
        "info@welzijn.n",
        "info@welzijn.nl, loket@welzijn.nl",
        "Stuur een mail",
        "<a href>",
    ],
)
def test_not_an_email_is_refused_with_the_value(raw):
    with pytest.raises(InvalidEmail, match=f"{raw!r} is not an email address"):
        normalize_email(raw)


WEBSITES = [
    ("www.buurtteam.nl", "https://www.buurtteam.nl/"),
    ("http://www.buurtteam.nl", "http://www.buurtteam.nl/"),
    ("HTTPS://Buurtteam.nl/Wmo?utm_source=nieuwsbrief", "https://buurtteam.nl/Wmo"),
    ("https://buurtteam.nl/hulp#contact", "https://buurtteam.nl/hulp"),
    ("welzijn-lindeloo.nl", "https://welzijn-lindeloo.nl/"),
    ("https://www.welzijn.nl/hulp/?utm_medium=email&utm_campaign=x", "https://www.welzijn.nl/hulp/"),
    ("https://www.welzijn.nl/hulp?b=2&a=1", "https://www.welzijn.nl/hulp?a=1&b=2"),
    ("http://welzijn.nl:80/", "http://welzijn.nl/"),
    ("https://WWW.Welzijn.NL/Hulp", "https://www.welzijn.nl/Hulp"),
    ("//welzijn.nl/x", "https://welzijn.nl/x"),
    ("https://welzijn.nl/?fbclid=abc", "https://welzijn.nl/"),
    ("https://welzijn.nl/pagina?gclid=1&id=7", "https://welzijn.nl/pagina?id=7"),
    (" https://welzijn.nl ", "https://welzijn.nl/"),
    ("https://welzijn.nl:8443/x", "https://welzijn.nl:8443/x"),
]


@pytest.mark.parametrize(("raw", "expected"), WEBSITES)
def test_website_canonical_with_scheme(raw, expected):
    assert normalize_website(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "nvt",
        "Lees meer",
        "mailto:info@buurtteam.nl",
        "tel:0301234567",
        "ftp://x.nl",
        "javascript:void(0)",
        "#",
        "/contact",
        "https://",
        "www",
        "info@welzijn.nl",
        "https://welzijn",
        "data:text/html,x",
        "https://wel zijn.nl",
    ],
)
def test_not_a_website_is_refused(raw):
    with pytest.raises(InvalidURL):
        normalize_website(raw)


def test_coordinates_with_dutch_decimal_comma():
    assert parse_coordinate("52,0907", "lat") == pytest.approx(52.0907)
    with pytest.raises(InvalidCoordinate, match="lat '95' is outside"):
        parse_coordinate("95", "lat")
    with pytest.raises(InvalidCoordinate, match="lon 'oost' is not a number"):
        parse_coordinate("oost", "lon")
