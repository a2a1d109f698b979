"""The demo market's past: ten months of exchanges among the Northshire organisations.

Plain data, no Flask. `app/demo/history.py` plays it out through the real
services (post the listings, propose, approve, accept or decline, confirm
receipt, cancel, expire, withdraw), each step at its own past moment, so the
audit trail, the hash-chained ledger and the trust figures are genuine.

Days are offsets from the day the demo is seeded (`day` = when the matcher
proposed the exchange). Every past exchange has its own listings, which end
fulfilled (completed exchanges) or withdrawn (the others): none of them is in
the market a fresh matching run sees, and none shares a title with the
current market's listings.

The record is deliberately uneven, so the trust pages and the matcher's
expected-completion term have something to show:

* 18 exchanges: 13 completed (8 reciprocal, 4 three-way, 1 chain started by
  the fire service's gift), 3 declined before anyone agreed, 1 cancelled and
  1 expired after every organisation had agreed;
* Eastmoor District Council declined one exchange and could not deliver
  another (cancelled): 1 completed of 2 agreed;
* Saltbay Coast PCN never provided the hot desks it promised (expired):
  1 completed of 2 agreed;
* their partners in those two exchanges (the county council, the community
  trust) carry a blemish too, as the completion rate counts every
  participant of an agreed exchange that did not complete; everyone else
  completed all it agreed to.
"""

from __future__ import annotations

from dataclasses import dataclass


class Outcome:
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ALL = (COMPLETED, DECLINED, CANCELLED, EXPIRED)


@dataclass(frozen=True)
class PastLeg:
    """One transfer: `giver`'s offer meets `receiver`'s need, `quantity` units of
    `currency` in `category`, in `area` (None = remote). Both listings post
    exactly `quantity`, so a completed exchange leaves them fulfilled."""

    giver: str
    receiver: str
    currency: str
    category: str
    quantity: int
    offer_title: str
    need_title: str
    area: str | None
    note: str = ""
    gift: bool = False


@dataclass(frozen=True)
class PastExchange:
    """One past exchange and how it ended.

    `decliner` (declined) is the organisation that said no, with `reason`;
    `delivered` (cancelled, expired) are the legs whose receivers confirmed
    before the exchange stalled; `reason` is also the coordinator's reason for
    a cancellation (an expiry records the system's own reason: there it only
    tells the story).
    """

    key: str
    day: int
    legs: tuple[PastLeg, ...]
    kind: str = "cycle"
    outcome: str = Outcome.COMPLETED
    decliner: str | None = None
    reason: str = ""
    delivered: tuple[int, ...] = ()


def leg(giver, receiver, currency, category, quantity, offer_title, need_title, area,
        note="", gift=False) -> PastLeg:
    return PastLeg(giver, receiver, currency, category, quantity, offer_title, need_title, area,
                   note, gift)


HISTORY: list[PastExchange] = [
    PastExchange("H01", -300, (
        leg("nsh-hospitals", "nsh-college", "jobs", "student clinical placement", 3,
            "Ward placements for nursing-associate students",
            "Clinical placements for nursing-associate students", "kingsford",
            "Eight-week placements with a practice supervisor on the medical wards."),
        leg("nsh-college", "nsh-hospitals", "training", "leadership", 24,
            "First-line manager course places (evening cohort)",
            "Leadership training for newly promoted ward managers", "kingsford",
            "Ten evening sessions; ILM level 3 certificate."),
    )),
    PastExchange("H02", -285, (
        leg("fellside-mh", "carers-network", "training", "mental health first aid", 16,
            "Mental Health First Aid places for voluntary-sector staff",
            "Mental health first aid for carers' support workers", "fellside"),
        leg("carers-network", "fellside-mh", "training", "carer awareness", 16,
            "Carer awareness sessions for ward teams",
            "Carer awareness for inpatient ward staff (Triangle of Care)", "fellside"),
    )),
    PastExchange("H03", -270, (
        leg("nsh-county", "brightwater", "staff", "data analyst", 6,
            "Analyst days for housing-need modelling",
            "Analyst support to model demand for extra-care housing", None),
        leg("brightwater", "nsh-community", "premises", "meeting room", 80,
            "Residents' meeting room at Harbour View, weekday mornings",
            "Meeting room in Saltbay for district-nurse team huddles", "saltbay"),
        leg("nsh-community", "nsh-county", "staff", "occupational therapist", 6,
            "OT assessments for the council's adaptations backlog",
            "Occupational therapist days for disabled facilities grant assessments",
            "eastmoor"),
    )),
    PastExchange("H04", -255, (
        leg("eastmoor-dc", "nsh-college", "premises", "meeting room", 60,
            "Committee rooms at Eastmoor Civic Centre, weekday evenings",
            "Rooms for adult-learner open evenings in Eastmoor", "eastmoor"),
        leg("nsh-college", "eastmoor-dc", "training", "digital skills", 10,
            "Digital skills places for council front-desk staff",
            "Digital skills for customer-services staff moving online", "eastmoor"),
    ), outcome=Outcome.DECLINED, decliner="eastmoor-dc",
        reason="The civic centre rooms are now needed for the elections count; we cannot "
               "commit them for now"),
    PastExchange("H05", -240, (
        leg("kingsford-pcn", "nsh-ambulance", "premises", "hot desk", 120,
            "Hot desks at Riverside Health Centre",
            "Hot desks for community paramedics (six-month pilot)", "kingsford"),
        leg("nsh-ambulance", "kingsford-pcn", "training", "first aid", 20,
            "First aid at work places for practice staff",
            "First aid certificates for reception and admin teams", "kingsford"),
    )),
    PastExchange("H06", -225, (
        leg("nsh-fire", "st-aidans", "training", "fire safety awareness", 20,
            "Free fire safety sessions for hospice-at-home teams",
            "Fire safety and home-oxygen awareness for hospice-at-home nurses", "westdale",
            "Offered free to any partner: the service wants more safe-and-well referrals.",
            gift=True),
        leg("st-aidans", "nsh-county", "training", "end-of-life care", 20,
            "End-of-life care training for care-home staff",
            "End-of-life care training for commissioned care homes", "kingsford"),
        leg("nsh-county", "carers-network", "staff", "social worker", 8,
            "Social worker days for carers' assessments in Fellside",
            "Social worker at the Fellside carers' café", "fellside"),
    ), kind="chain"),
    PastExchange("H07", -210, (
        leg("nsh-community", "saltbay-pcn", "staff", "healthcare assistant", 8,
            "Healthcare assistant days for vaccination clinics",
            "Healthcare assistants for the vaccination clinics", "saltbay"),
        leg("saltbay-pcn", "nsh-community", "premises", "hot desk", 100,
            "Hot desks at Saltbay Health Centre (after the refurbishment)",
            "Hot desks for the Saltbay community nursing team", "saltbay"),
    ), outcome=Outcome.EXPIRED, delivered=(0,),
        reason="The health centre's refurbishment overran and the desks never became "
               "available"),
    PastExchange("H08", -195, (
        leg("brightwater", "open-door", "jobs", "volunteer-to-work placement", 2,
            "Volunteer-to-work placements with the estates team",
            "Volunteer-to-work placements for people moving on from the hostel", "saltbay"),
        leg("open-door", "brightwater", "training", "trauma-informed practice", 16,
            "Trauma-informed practice days for housing staff",
            "Trauma-informed practice for tenancy-sustainment officers", "saltbay"),
    )),
    PastExchange("H09", -180, (
        leg("eastmoor-dc", "nsh-ambulance", "premises", "community hall", 100,
            "Eastmoor Leisure Centre hall for evening sessions",
            "Hall space to train community first responders in Eastmoor", "eastmoor"),
        leg("nsh-ambulance", "nsh-college", "training", "first aid", 16,
            "First aid instructor days for college learners",
            "First aid certificates for health and social care learners", "eastmoor"),
        leg("nsh-college", "eastmoor-dc", "training", "digital skills", 16,
            "Essential Digital Skills places for partner staff",
            "Digital skills for housing and leisure staff", "eastmoor"),
    )),
    PastExchange("H10", -165, (
        leg("eastmoor-dc", "nsh-county", "staff", "housing officer", 6,
            "Housing options officer days for hospital-discharge cases",
            "Housing officer for the adult social care discharge team", "eastmoor"),
        leg("nsh-county", "eastmoor-dc", "training", "safeguarding", 12,
            "Safeguarding adults level 2 places for district staff",
            "Safeguarding adults training for housing and leisure staff", "eastmoor"),
    ), outcome=Outcome.CANCELLED, delivered=(1,),
        reason="Eastmoor's housing options post fell vacant and the council could not "
               "deliver the officer days; cancelled at the county council's request"),
    PastExchange("H11", -150, (
        leg("nsh-community", "nsh-hospitals", "staff", "registered nurse", 10,
            "Community nurse shifts on the hospital-at-home service",
            "Nurses for the virtual ward while it recruits", "kingsford"),
        leg("nsh-hospitals", "nsh-community", "staff", "pharmacist", 10,
            "Hospital pharmacist days for community medicines reviews",
            "Pharmacist time for housebound patients' medicines reviews", "kingsford"),
    )),
    PastExchange("H12", -135, (
        leg("westdale-leisure", "fellside-mh", "premises", "community hall", 80,
            "Studio at Westdale Leisure Centre for weekday sessions",
            "Space in Westdale for a walking-and-talking recovery group", "westdale"),
        leg("fellside-mh", "westdale-leisure", "training", "mental health first aid", 12,
            "Mental Health First Aid places (Westdale course)",
            "Mental health first aid for leisure centre duty managers", "westdale"),
    ), outcome=Outcome.DECLINED, decliner="fellside-mh",
        reason="Our instructors are committed to the crisis team's training for the next "
               "three months; please propose this again after that"),
    PastExchange("H13", -120, (
        leg("nsh-cvs", "saltbay-pcn", "staff", "volunteer coordinator", 6,
            "Volunteer coordinator days to start a practice volunteer scheme",
            "Help setting up volunteer patient-transport drivers", "saltbay"),
        leg("saltbay-pcn", "brightwater", "staff", "link worker", 6,
            "Social prescribing link worker sessions at partner venues",
            "Link worker sessions at Harbour View extra-care scheme", "saltbay"),
        leg("brightwater", "nsh-cvs", "premises", "meeting room", 80,
            "Meeting room at Harbour View for community groups",
            "Meeting room in Saltbay for the voluntary-sector forum", "saltbay"),
    )),
    PastExchange("H14", -100, (
        leg("carers-network", "kingsford-pcn", "training", "carer awareness", 10,
            "Carer awareness for practice reception teams",
            "Carer awareness training to start a carers' register", "kingsford"),
        leg("kingsford-pcn", "carers-network", "staff", "link worker", 5,
            "Link worker clinics at the carers' centre",
            "Link worker sessions for carers at the Kingsford carers' centre", "kingsford"),
    )),
    PastExchange("H15", -85, (
        leg("nsh-hospitals", "brightwater", "premises", "storage", 200,
            "Storage bays for equipment at Eastmoor (short term)",
            "Storage for adaptation equipment and furniture in Eastmoor", "eastmoor"),
        leg("brightwater", "nsh-hospitals", "jobs", "apprenticeship", 3,
            "Trades apprenticeship places for hospital estates recruits",
            "Estates apprenticeships with a housing repairs team", "eastmoor"),
    ), outcome=Outcome.DECLINED, decliner="brightwater",
        reason="Our repairs depot move was delayed, so we cannot supervise apprentices "
               "until it opens"),
    PastExchange("H16", -70, (
        leg("westdale-leisure", "st-aidans", "jobs", "work experience placement", 2,
            "Work experience at Westdale pools and gym",
            "Work experience for young hospice volunteers", "westdale"),
        leg("st-aidans", "westdale-leisure", "premises", "training room", 100,
            "Education centre room for partner training",
            "Training room for lifeguard and instructor courses", "westdale"),
    )),
    PastExchange("H17", -50, (
        leg("fellside-mh", "nsh-fire", "training", "mental health first aid", 12,
            "Mental Health First Aid places for emergency services",
            "Mental health first aid for on-call firefighters", "fellside"),
        leg("nsh-fire", "nsh-cvs", "premises", "community hall", 80,
            "Fellside fire station community room, weekday evenings",
            "Venue in Fellside for volunteer training days", "fellside"),
        leg("nsh-cvs", "fellside-mh", "staff", "volunteer coordinator", 6,
            "Volunteer coordinator days for peer-support volunteering",
            "Help recruiting peer-support volunteers in Fellside", "fellside"),
    )),
    PastExchange("H18", -35, (
        leg("nsh-ambulance", "nsh-community", "staff", "paramedic", 6,
            "Paramedic days for the falls response car",
            "Paramedic support for the Westdale falls pathway", "westdale"),
        leg("nsh-community", "nsh-ambulance", "training", "manual handling", 12,
            "Manual handling places for ambulance crews (bariatric)",
            "Manual handling refresher for community first responders", "westdale"),
    )),
]
