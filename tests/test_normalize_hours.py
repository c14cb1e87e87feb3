import pytest

from servicemap.normalize import parse_opening_hours

WEEKDAYS = "MO TU WE TH FR"


def rows(days: str, opens: str, closes: str) -> list[tuple[str, str, str]]:
    return [(day, opens, closes) for day in days.split()]


READ = [
    ("Mo-Fr 09:00-17:00", rows(WEEKDAYS, "09:00", "17:00")),
    ("Mo,We 09:00-12:00", rows("MO WE", "09:00", "12:00")),
    ("Sa 10:00-14:00", rows("SA", "10:00", "14:00")),
    ("Mo,Tu 09:00:00-17:00:00", rows("MO TU", "09:00", "17:00")),
    ("Monday,Wednesday 09:00-12:30", rows("MO WE", "09:00", "12:30")),
    ("Mo-Fr 09:00-17:00 Sa 10:00-14:00", rows(WEEKDAYS, "09:00", "17:00") + rows("SA", "10:00", "14:00")),
    ("Mo-Su 00:00-24:00", rows("MO TU WE TH FR SA SU", "00:00", "24:00")),
    ("ma t/m vr 9.00 - 17.00 uur", rows(WEEKDAYS, "09:00", "17:00")),
    ("Ma t.m. Vr 9-17", rows(WEEKDAYS, "09:00", "17:00")),
    ("ma. t/m vr. 9.00-17.00", rows(WEEKDAYS, "09:00", "17:00")),
    ("maandag tot en met vrijdag 8.30 - 17.00 uur", rows(WEEKDAYS, "08:30", "17:00")),
    ("ma-vr: 9:00-17:00", rows(WEEKDAYS, "09:00", "17:00")),
    ("di en do 9.00-12.00", rows("TU TH", "09:00", "12:00")),
    ("di & do 9.00-12.00", rows("TU TH", "09:00", "12:00")),
    ("ma, wo, vr 13.30-16.00 uur", rows("MO WE FR", "13:30", "16:00")),
    ("maandag 13:00 tot 16:30", rows("MO", "13:00", "16:30")),
    ("Maandag: 09:00 - 17:00 uur", rows("MO", "09:00", "17:00")),
    ("Ma: 09.00 – 12.30 uur", rows("MO", "09:00", "12:30")),
    ("woensdag van 10.00 tot 12.00 uur", rows("WE", "10:00", "12:00")),
    ("Donderdag 19.00-21.00u", rows("TH", "19:00", "21:00")),
    ("zaterdag 10u-12u", rows("SA", "10:00", "12:00")),
    ("ma 9-12, di 13-17", rows("MO", "09:00", "12:00") + rows("TU", "13:00", "17:00")),
    ("ma 9-12,", rows("MO", "09:00", "12:00")),
    (
        "Maandag t/m donderdag van 9.00 tot 12.00 uur en van 13.00 tot 16.00 uur",
        [(d, o, c) for d in ["MO", "TU", "WE", "TH"] for o, c in (("09:00", "12:00"), ("13:00", "16:00"))],
    ),
    ("dagelijks 8-20", rows("MO TU WE TH FR SA SU", "08:00", "20:00")),
    ("werkdagen 8.30-17.00", rows(WEEKDAYS, "08:30", "17:00")),
    ("weekend 10:00-16:00", rows("SA SU", "10:00", "16:00")),
    ("vr-ma 10-12", rows("FR SA SU MO", "10:00", "12:00")),
    ("za gesloten, ma 9-12", rows("MO", "09:00", "12:00")),
    ("Monday to Friday 9am-5pm", rows(WEEKDAYS, "09:00", "17:00")),
    ("Mon–Fri 9:00–17:00", rows(WEEKDAYS, "09:00", "17:00")),
    ("Mon-Fri 9 am - 5 pm", rows(WEEKDAYS, "09:00", "17:00")),
    ("Tuesday and Thursday 10:00 until 12:00", rows("TU TH", "10:00", "12:00")),
    ("Wednesdays 12pm-2pm", rows("WE", "12:00", "14:00")),
    ("<p>ma t/m vr&nbsp;9.00-17.00</p>", rows(WEEKDAYS, "09:00", "17:00")),
    ("ma-do 9-17, vr 9-12", rows("MO TU WE TH", "09:00", "17:00") + rows("FR", "09:00", "12:00")),
    ("ma, di, wo en do 9.00-12.00", rows("MO TU WE TH", "09:00", "12:00")),
    ("Dinsdag en donderdag: 13.30 - 15.30 uur", rows("TU TH", "13:30", "15:30")),
    ("Elke woensdag 10.00-12.00", rows("WE", "10:00", "12:00")),
    ("za: 10.00 - 16.00", rows("SA", "10:00", "16:00")),
    ("vr 9.00-12.00 uur, 13.00-16.00 uur", [("FR", "09:00", "12:00"), ("FR", "13:00", "16:00")]),
    ("di 10-12 en do 14-16", rows("TU", "10:00", "12:00") + rows("TH", "14:00", "16:00")),
    ("maandag tm vrijdag 8.00-18.00", rows(WEEKDAYS, "08:00", "18:00")),
    ("ma. en wo. 10.00-15.00", rows("MO WE", "10:00", "15:00")),
    ("di 13.00-17.00 uur; do 9.00-12.00 uur", rows("TU", "13:00", "17:00") + rows("TH", "09:00", "12:00")),
    (
        "ma-vr 8:00-18:00 za 9:00-13:00 zo gesloten",
        rows(WEEKDAYS, "08:00", "18:00") + rows("SA", "09:00", "13:00"),
    ),
    ("ma-zo 0-24 uur", rows("MO TU WE TH FR SA SU", "00:00", "24:00")),
    ("ma 12.30-13.00", rows("MO", "12:30", "13:00")),
    # English, as on the English pages of Dutch sites
    ("Mon-Fri 9am-5pm", rows(WEEKDAYS, "09:00", "17:00")),
    ("Tuesdays 10:00-12:00", rows("TU", "10:00", "12:00")),
    ("Mon, Wed, Fri: 10am - 2pm", rows("MO WE FR", "10:00", "14:00")),
    ("Weekdays 8:30-18:00", rows(WEEKDAYS, "08:30", "18:00")),
    ("Open daily 7-23", rows("MO TU WE TH FR SA SU", "07:00", "23:00")),
    ("Sat 10:00-16:00, Sun closed", rows("SA", "10:00", "16:00")),
    ("monday 9-12 and 13-17", [("MO", "09:00", "12:00"), ("MO", "13:00", "17:00")]),
    ("Mo-Fr 9:00 AM-5:00 PM", rows(WEEKDAYS, "09:00", "17:00")),
    ("Mo 9:00am-12:00pm", rows("MO", "09:00", "12:00")),
    ("Mo 12am-6am", rows("MO", "00:00", "06:00")),
    # schema.org: `openingHours` as written, and OpeningHoursSpecification as the extractor
    # writes it ('Mo,Tu 09:00:00-17:00:00' from dayOfWeek, opens and closes)
    ("Mo,Tu,We,Th,Fr 09:00:00-17:00:00", rows(WEEKDAYS, "09:00", "17:00")),
    ("Sa,Su 10:00:00-16:00:00", rows("SA SU", "10:00", "16:00")),
    ("Th 19:00:00-21:30:00", rows("TH", "19:00", "21:30")),
    (
        "Mo-Fr 09:00-12:00,13:00-17:00",
        [(d, o, c) for d in WEEKDAYS.split() for o, c in (("09:00", "12:00"), ("13:00", "17:00"))],
    ),
    ("Mo-Fr 09:00-17:00; Sa 10:00-14:00", rows(WEEKDAYS, "09:00", "17:00") + rows("SA", "10:00", "14:00")),
    ("Mo-Su 00:00-23:59", rows("MO TU WE TH FR SA SU", "00:00", "23:59")),
    (
        "Mo-Fr 08:30-17:00 Sa 09:00-12:00 Su closed",
        rows(WEEKDAYS, "08:30", "17:00") + rows("SA", "09:00", "12:00"),
    ),
]


@pytest.mark.parametrize(("raw", "expected"), READ)
def test_hours_read_with_certainty(raw, expected):
    schedule = parse_opening_hours(raw)
    assert [(r.weekday, r.opens_at, r.closes_at) for r in schedule] == expected
    assert all(r.note is None for r in schedule)


NOTE_ONLY = [
    "dinsdagochtend",
    "op afspraak",
    "Alleen op afspraak",
    "9.00-17.00 uur",
    "ma t/m vr",
    "ma 17.00-9.00",
    "ma 9.00-25.00",
    "ma 9.75-12.00",
    "ma 09:00:30-12:00:00",
    "wo 10.00-12.00 uur (inloop)",
    "Inloopspreekuur woensdag 10.00-12.00",
    "1e en 3e dinsdag van de maand 10-12",
    "24/7 bereikbaar",
    "we are open 9-5",
    "Monday through Friday 9 to 5",
    "in de schoolvakanties gesloten",
    "tijdens kantooruren",
    "ma 9",
    "ma,",
    "-",
    "elke dinsdagochtend",
    "maandag- en woensdagmiddag",
    "'s ochtends",
    "tijdens schooltijden",
    "1 januari gesloten",
    "wo 10:00-12:00 (behalve in de zomer)",
    "vr 09:00-17:00 (even weken)",
    "Di 9.00-12.00 (oneven weken)",
    "wo 9u30-12u",
    # '9 tot 5' means 17:00 to a person; read literally it would close before it opens
    "ma t/m vr van 9 tot 5",
    "ma 8:00 - 8:00",
    "di 9:00:30-12:00",
    # bare hours before 7 in the morning: afternoon or night, not certain which
    "Sat 1-4",
    "ma 1-3 uur",
    "di 6-9",
    "9:00 AM - 5:00 PM Monday to Friday",
    "12pm-1pm Mon",
    # schema.org: public holidays, a day without times, a night that runs past midnight
    "PH 10:00-12:00",
    "Su",
    "Mo 09:00",
    "Mo 22:00-02:00",
    "Mo 00:00-00:00",
]


@pytest.mark.parametrize("raw", NOTE_ONLY)
def test_what_cannot_be_read_with_certainty_becomes_a_note(raw):
    assert [(r.weekday, r.opens_at, r.closes_at, r.note) for r in parse_opening_hours(raw)] == [
        (None, None, None, raw)
    ]


def test_each_line_is_read_on_its_own():
    schedule = parse_opening_hours("ma-vr 9:00-17:00\nza: op afspraak")
    assert [(r.weekday, r.note) for r in schedule] == [(d, None) for d in WEEKDAYS.split()] + [
        (None, "za: op afspraak")
    ]


@pytest.mark.parametrize("raw", ["za en zo gesloten", "Closed on Sundays", "", "   "])
def test_closed_days_and_empty_text_give_no_rows(raw):
    assert parse_opening_hours(raw) == []


def test_changing_a_returned_row_leaves_the_next_result_alone():
    [row] = parse_opening_hours("ma 9-12")
    row.closes_at = "13:00"
    assert parse_opening_hours("ma 9-12")[0].closes_at == "12:00"
