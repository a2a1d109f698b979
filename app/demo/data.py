"""The demo market: the Northshire Integrated Care Partnership (fictional).

Plain data, no Flask. Dates are offsets in days from the day the market is
seeded, so the demo never starts out expired.

The listings are arranged so that, under the market's compatibility rule, the
market holds at least these exchanges, each fair at the default threshold
(0.5) and using listings no other planted exchange uses (see `PLANTED`):

- three reciprocal exchanges (2-cycles): R1 mental-health trust <-> county
  council, R2 acute trust <-> college, R3 housing association <-> community
  trust;
- two three-way exchanges (3-cycles): T1 Kingsford PCN -> carers' network ->
  fire and rescue -> Kingsford PCN, T2 Eastmoor district council -> Open Door
  -> ambulance service -> Eastmoor district council;
- one gift-started chain: G St Aidan's Hospice gives a training room to the
  CVS, which gives volunteer-coordinator time to Westdale Leisure Trust, which
  gives hall space to the community trust. In a chain the gift's giver and the
  last receiver are exempt from fairness; the organisations in the middle are
  not (the CVS receives 2,400 and gives 2,400; the trust 2,400 and 2,000).

Around them are listings that almost match (a missing tag, windows that do not
overlap, another area, a minimum the offer cannot cover, an exclusion, an
exchange too lopsided to be fair) and plenty that simply wait for a partner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PARTNERSHIP = "Northshire Integrated Care Partnership"

AREAS = {
    "kingsford": "Kingsford (county town)",
    "eastmoor": "Eastmoor",
    "saltbay": "Saltbay (coast)",
    "westdale": "Westdale",
    "fellside": "Fellside (rural north)",
}
ALL_AREAS = list(AREAS)

CURRENCIES = [
    {
        "code": "staff", "name": "Staff time", "unit": "staff-day", "value_per_unit": 300,
        "categories": [
            "registered nurse", "mental-health nurse", "social worker",
            "occupational therapist", "physiotherapist", "healthcare assistant", "pharmacist",
            "paramedic", "housing officer", "peer support worker", "link worker",
            "volunteer coordinator", "data analyst", "administrator",
        ],
    },
    {
        "code": "jobs", "name": "Jobs and placements", "unit": "placement",
        "value_per_unit": 1200,
        "categories": [
            "apprenticeship", "work experience placement", "supported employment",
            "graduate placement", "volunteer-to-work placement", "student clinical placement",
        ],
    },
    {
        "code": "training", "name": "Training places", "unit": "training place",
        "value_per_unit": 150,
        "categories": [
            "safeguarding", "manual handling", "digital skills",
            "equal-opportunity interviewing", "mental health first aid", "conflict resolution",
            "first aid", "carer awareness", "fire safety awareness", "trauma-informed practice",
            "end-of-life care", "dementia awareness", "leadership",
        ],
    },
    {
        "code": "premises", "name": "Premises", "unit": "room-hour", "value_per_unit": 25,
        "categories": [
            "clinic room", "meeting room", "hot desk", "training room", "storage",
            "community hall",
        ],
    },
]

# slug, name, sector, areas, contact name, description
ORGANISATIONS = [
    ("nsh-hospitals", "Northshire Hospitals NHS Foundation Trust", "acute_trust",
     ["kingsford", "eastmoor", "saltbay"], "Dr Helen Marsh",
     "Acute hospitals at Kingsford General and Saltbay Royal; emergency, surgical and "
     "maternity services for the county."),
    ("nsh-community", "Northshire Community Health NHS Trust", "community_trust", ALL_AREAS,
     "Jo Whitfield",
     "District nursing, community therapy, community hospitals and falls prevention across "
     "Northshire."),
    ("fellside-mh", "Northshire and Fellside Mental Health NHS Trust", "mental_health_trust",
     ["kingsford", "saltbay", "westdale", "fellside"], "Marcus Bell",
     "Adult and older-adult mental health, crisis and recovery services."),
    ("kingsford-pcn", "Kingsford Central Primary Care Network", "primary_care_network",
     ["kingsford"], "Dr Anita Shah",
     "Five GP practices serving 62,000 patients in central Kingsford."),
    ("saltbay-pcn", "Saltbay Coast Primary Care Network", "primary_care_network",
     ["saltbay"], "Dr Owen Price",
     "Four coastal practices with a large older and seasonal population."),
    ("nsh-county", "Northshire County Council", "county_council", ALL_AREAS, "Fiona Grant",
     "Adult social care, children's services, public health, libraries and skills."),
    ("eastmoor-dc", "Eastmoor District Council", "district_council", ["eastmoor"],
     "Raj Patel", "Housing options, homelessness prevention, leisure and environmental health."),
    ("brightwater", "Brightwater Homes", "housing_association",
     ["saltbay", "kingsford", "eastmoor"], "Claire Dunn",
     "4,800 affordable homes and three extra-care schemes."),
    ("st-aidans", "St Aidan's Hospice", "hospice", ["westdale", "kingsford"], "Sister Mary Quinn",
     "Inpatient and hospice-at-home care, bereavement support and an education centre."),
    ("carers-network", "Northshire Carers' Network", "voluntary",
     ["kingsford", "westdale", "fellside"], "Bev Thompson",
     "Support groups, advice and breaks for unpaid carers."),
    ("open-door", "Open Door Northshire", "voluntary", ["saltbay", "eastmoor"], "Kieran Walsh",
     "Drop-ins, outreach and move-on support for people who are homeless."),
    ("nsh-college", "Northshire College", "college", ["kingsford", "eastmoor"], "Angela Reid",
     "Further-education college: health and care, digital, construction and adult skills."),
    ("nsh-fire", "Northshire Fire and Rescue Service", "other", ALL_AREAS, "Station Manager Lee",
     "Emergency response and safe-and-well home visits."),
    ("westdale-leisure", "Westdale Leisure Trust", "other", ["westdale"], "Nina Kowalski",
     "Leisure centres, pools and health walks in Westdale."),
    ("nsh-cvs", "Northshire Council for Voluntary Service", "voluntary", ALL_AREAS,
     "Peter Osei", "Support, training and volunteering for the county's voluntary groups."),
    ("nsh-ambulance", "Northshire Ambulance Service NHS Trust", "other", ALL_AREAS,
     "Graham Firth", "Emergency and urgent care, community first responders, education."),
]

# Who will not exchange with whom (both directions are honoured by the matcher).
EXCLUSIONS = [
    ("brightwater", "eastmoor-dc",
     "Paused while the nominations-agreement dispute is with the ombudsman."),
    ("westdale-leisure", "nsh-county", "Contract re-tender in progress; legal advice is to "
                                       "avoid side arrangements until it closes."),
]


@dataclass(frozen=True)
class DemoListing:
    key: str
    org: str
    kind: str
    currency: str
    category: str | None
    title: str
    description: str
    quantity: int
    areas: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    min_quantity: int | None = None
    remote: bool = False
    start: int | None = -14
    until: int | None = 180
    gift: bool = False


def offer(key, org, currency, category, title, description, quantity, areas, tags=(), **kw):
    return DemoListing(key, org, "offer", currency, category, title, description, quantity,
                       list(areas), list(tags), **kw)


def need(key, org, currency, category, title, description, quantity, areas, tags=(), **kw):
    return DemoListing(key, org, "need", currency, category, title, description, quantity,
                       list(areas), list(tags), **kw)


LISTINGS: list[DemoListing] = [
    # --- R1: mental-health trust <-> county council (6,000 each way) -------------------
    offer("R1-offer-mh-nurse", "fellside-mh", "staff", "mental-health nurse",
          "Mental-health nurse sessions for homelessness outreach",
          "Band 6 community mental-health nurses with outreach experience, available two days "
          "a week to work alongside housing and homelessness teams.",
          24, ["kingsford", "saltbay"], ["dbs-checked", "homelessness", "outreach"]),
    need("R1-need-mh-nurse", "nsh-county", "staff", "mental-health nurse",
         "Mental-health nurse two days a week in the homelessness team",
         "Our rough-sleeper team needs a mental-health nurse on joint visits and for advice on "
         "risk; Kingsford office, some evening work.",
         20, ["kingsford"], ["homelessness"], min_quantity=16),
    offer("R1-offer-supported-jobs", "nsh-county", "jobs", "supported employment",
          "Supported employment placements in county services",
          "Twelve-week supported placements in libraries, parks and catering, with a job coach "
          "and a guaranteed interview at the end.",
          6, ["kingsford", "eastmoor"]),
    need("R1-need-supported-jobs", "fellside-mh", "jobs", "supported employment",
         "Supported employment for people in recovery",
         "Individual placement and support (IPS) clients ready for a real workplace with a "
         "job coach.",
         5, ["kingsford"], min_quantity=3),
    # --- R2: college <-> acute trust (4,500 / 4,800) ------------------------------------
    offer("R2-offer-digital", "nsh-college", "training", "digital skills",
          "Digital skills course places (Essential Digital Skills, Microsoft 365)",
          "Accredited evening and day-release places; beginners to intermediate.",
          40, ["kingsford", "eastmoor"], ["accredited", "evening"]),
    need("R2-need-digital", "nsh-hospitals", "training", "digital skills",
         "Digital skills for ward and admin staff before the new patient record",
         "Staff who rarely use a computer at work need confidence before the electronic "
         "patient record goes live.",
         30, ["kingsford"], ["accredited"], min_quantity=20),
    offer("R2-offer-apprentices", "nsh-hospitals", "jobs", "apprenticeship",
          "Healthcare support worker apprenticeships",
          "Level 3 apprenticeships on wards and in outpatients, with a mentor and a job offer "
          "on completion.",
          6, ["kingsford", "eastmoor"], ["level-3", "clinical"]),
    need("R2-need-apprentices", "nsh-college", "jobs", "apprenticeship",
         "Apprenticeship places for health and social care students",
         "Our level 3 health and social care learners need employer apprenticeships to "
         "progress.",
         4, ["kingsford", "eastmoor"], ["level-3"], min_quantity=2),
    # --- R3: housing association <-> community trust (4,000 / 3,600) --------------------
    offer("R3-offer-clinic-room", "brightwater", "premises", "clinic room",
          "Ground-floor clinic room at Harbour View extra-care scheme",
          "Accessible room with sink, couch and parking; weekdays 9-5.",
          200, ["saltbay"], ["accessible", "sink"]),
    need("R3-need-clinic-room", "nsh-community", "premises", "clinic room",
         "Clinic room for district-nurse leg-ulcer clinics in Saltbay",
         "Two sessions a week, needs a sink and step-free access.",
         160, ["saltbay"], ["accessible", "sink"], min_quantity=80),
    offer("R3-offer-manual-handling", "nsh-community", "training", "manual handling",
          "Manual handling: trainer-led practical places",
          "Half-day practical sessions including hoists and slide sheets.",
          30, ["saltbay", "kingsford", "eastmoor"], ["practical"]),
    need("R3-need-manual-handling", "brightwater", "training", "manual handling",
         "Manual handling for support workers in extra-care housing",
         "New support workers at our three extra-care schemes.",
         24, ["saltbay"], min_quantity=12),
    # --- T1: Kingsford PCN -> carers' network -> fire and rescue -> Kingsford PCN ---------
    offer("T1-offer-meeting-room", "kingsford-pcn", "premises", "meeting room",
          "Evening use of the Riverside Health Centre meeting room",
          "Seats 20, hearing loop, free parking after 6pm.",
          120, ["kingsford"], ["evenings", "accessible"]),
    need("T1-need-meeting-room", "carers-network", "premises", "meeting room",
         "Meeting room for evening carers' support groups",
         "Fortnightly evening groups; step-free access essential.",
         96, ["kingsford"], ["accessible"], min_quantity=48),
    offer("T1-offer-carer-awareness", "carers-network", "training", "carer awareness",
          "Carer awareness sessions led by carers",
          "Two-hour sessions on spotting and supporting unpaid carers, delivered by carers.",
          20, ["kingsford", "westdale", "fellside"], ["lived-experience"]),
    need("T1-need-carer-awareness", "nsh-fire", "training", "carer awareness",
         "Carer awareness for safe-and-well visit crews",
         "Crews meet hidden carers on home visits and want to refer them well.",
         16, ["kingsford", "fellside"], min_quantity=8),
    offer("T1-offer-fire-safety", "nsh-fire", "training", "fire safety awareness",
          "Fire safety awareness and home-oxygen risk sessions",
          "For staff who visit people at home, especially those using home oxygen.",
          24, ALL_AREAS, ["home-oxygen", "home-visits"]),
    need("T1-need-fire-safety", "kingsford-pcn", "training", "fire safety awareness",
         "Fire safety training for practice home-visit teams",
         "Our home-visiting nurses and care coordinators see many oxygen users.",
         16, ["kingsford"], ["home-oxygen"], min_quantity=10),
    # --- T2: Eastmoor DC -> Open Door -> ambulance service -> Eastmoor DC ----------------
    offer("T2-offer-housing-officer", "eastmoor-dc", "staff", "housing officer",
          "Housing options officer surgeries in partner venues",
          "A housing options officer holds surgeries where people already go.",
          10, ["eastmoor"], ["homelessness"]),
    need("T2-need-housing-officer", "open-door", "staff", "housing officer",
         "Housing officer time at our Eastmoor drop-in",
         "Weekly surgery at the Eastmoor drop-in so people can start a housing application "
         "on the spot.",
         8, ["eastmoor"], ["homelessness"], min_quantity=4),
    offer("T2-offer-trauma", "open-door", "training", "trauma-informed practice",
          "Trauma-informed practice, co-delivered by people with lived experience",
          "One-day course; our peer trainers have used homelessness services themselves.",
          20, ["eastmoor", "saltbay"], ["lived-experience"]),
    need("T2-need-trauma", "nsh-ambulance", "training", "trauma-informed practice",
         "Trauma-informed practice for frontline crews",
         "Crews meeting frequent callers who are homeless.",
         16, ["eastmoor", "saltbay"], min_quantity=8),
    offer("T2-offer-first-aid", "nsh-ambulance", "training", "first aid",
          "First aid at work places run by our education team",
          "Three-day certificated course; refreshers also available.",
          24, ["eastmoor", "kingsford"], ["certificated"]),
    need("T2-need-first-aid", "eastmoor-dc", "training", "first aid",
         "First aid certificates for leisure and housing staff",
         "Certificates are expiring for front-desk, leisure and hostel staff.",
         16, ["eastmoor"], ["certificated"], min_quantity=8),
    # --- G: St Aidan's gift -> CVS -> Westdale Leisure -> community trust ----------------
    offer("G-offer-gift-training-room", "st-aidans", "premises", "training room",
          "Education centre training room, free to partners",
          "Our education centre is quiet on Tuesdays and Thursdays; partners are welcome to it "
          "free of charge.",
          120, ["westdale", "kingsford"], ["accessible", "projector"], gift=True),
    need("G-need-training-room", "nsh-cvs", "premises", "training room",
         "Training room for volunteer induction days",
         "Monthly induction days for new volunteers; projector needed.",
         96, ["kingsford"], ["projector"], min_quantity=48),
    offer("G-offer-volunteer-coordinator", "nsh-cvs", "staff", "volunteer coordinator",
          "Volunteer coordinator days to set up a volunteer programme",
          "Recruitment, DBS checks, induction and rotas for a new volunteer programme.",
          10, ["westdale", "kingsford"]),
    need("G-need-volunteer-coordinator", "westdale-leisure", "staff", "volunteer coordinator",
         "Volunteer coordinator to launch health walks",
         "We want 20 volunteer walk leaders in Westdale by the spring.",
         8, ["westdale"], min_quantity=4),
    offer("G-offer-hall", "westdale-leisure", "premises", "community hall",
          "Sports hall slots for falls-prevention classes",
          "Weekday mornings; chairs and parallel bars available.",
          100, ["westdale"], ["accessible"]),
    need("G-need-hall", "nsh-community", "premises", "community hall",
         "Hall space for strength-and-balance (falls prevention) classes",
         "Weekly classes for people referred after a fall.",
         80, ["westdale"], ["accessible"], min_quantity=40),

    # --- almost matches ----------------------------------------------------------------
    # A missing tag: the hospital needs theatre experience the district nurses do not list.
    need("near-tag-theatre-nurses", "nsh-hospitals", "staff", "registered nurse",
         "Theatre nurses for weekend elective lists",
         "Scrub-trained nurses to keep weekend lists running through the winter.",
         12, ["kingsford"], ["theatres", "weekends"]),
    offer("near-tag-district-nurses", "nsh-community", "staff", "registered nurse",
          "District nurse shifts for hospital-at-home",
          "Registered nurses to support the virtual ward at weekends.",
          10, ["kingsford", "saltbay"], ["community", "weekends"]),
    # Windows that do not overlap.
    offer("near-dates-meeting-rooms", "eastmoor-dc", "premises", "meeting room",
          "Committee rooms at Eastmoor Civic Centre",
          "Available until the civic centre refurbishment starts.",
          80, ["eastmoor"], until=90),
    need("near-dates-college-rooms", "nsh-college", "premises", "meeting room",
         "Rooms for summer-term employer events",
         "Employer breakfasts and careers fairs in the summer term.",
         30, ["eastmoor"], start=150, until=240),
    # Another area.
    offer("near-area-civic-clinic", "eastmoor-dc", "premises", "clinic room",
          "Clinic room at Eastmoor Civic Centre",
          "Used by the council's health checks team on Mondays only.",
          100, ["eastmoor"], ["accessible"]),
    need("near-area-adhd-clinic", "saltbay-pcn", "premises", "clinic room",
         "Quiet clinic room for the Saltbay ADHD clinic",
         "Needs to be soundproofed and near the bus station.",
         60, ["saltbay"], ["soundproofed"]),
    # A minimum the offer cannot cover.
    need("near-min-safeguarding", "nsh-county", "training", "safeguarding",
         "Safeguarding adults level 3 for social care staff",
         "A whole cohort of social workers must complete level 3 this year.",
         60, ALL_AREAS, ["level-3"], min_quantity=40),
    offer("near-min-safeguarding-offer", "fellside-mh", "training", "safeguarding",
          "Safeguarding adults level 3 places",
          "Places on our in-house level 3 course.",
          25, ["kingsford", "fellside"], ["level-3"]),
    # An exclusion: Brightwater will not exchange with Eastmoor District Council.
    need("near-excluded-housing-officer", "brightwater", "staff", "housing officer",
         "Housing officer support for tenancy sustainment",
         "Joint visits to tenants at risk of eviction in Eastmoor.",
         6, ["eastmoor"], ["homelessness"], min_quantity=6),
    # Compatible both ways but too lopsided to be fair (500 credits against 3,600).
    offer("near-unfair-training-room", "nsh-college", "premises", "training room",
          "Training room with video link at Kingsford campus",
          "Seats 30; video conferencing; evenings and holidays.",
          20, ["kingsford"], ["video-link", "accessible"]),
    need("near-unfair-pcn-room", "kingsford-pcn", "premises", "training room",
         "Training room for GP trainee teaching",
         "Weekly teaching with a video link to the deanery.",
         20, ["kingsford"], ["video-link"]),
    offer("near-unfair-work-experience", "kingsford-pcn", "jobs", "work experience placement",
          "Work experience in general practice reception and admin",
          "Two-week placements for 16-19 year olds.",
          3, ["kingsford"]),
    need("near-unfair-college-work-exp", "nsh-college", "jobs", "work experience placement",
         "Work experience for T-level health students",
         "Industry placements are compulsory for T-levels.",
         3, ["kingsford"]),
    # Brightwater's trades apprenticeships lack the level-3 tag the college asks for.
    offer("near-tag-trades", "brightwater", "jobs", "apprenticeship",
          "Trades apprenticeships (plumbing, electrical)",
          "Apprentices join our repairs team.",
          3, ["saltbay", "eastmoor"], ["trades"]),
    # A digital-skills need in an area the college does not serve.
    need("near-area-hospice-digital", "st-aidans", "training", "digital skills",
         "Digital skills for hospice volunteers",
         "Volunteers need to use the new rota app and email.",
         15, ["westdale"], ["beginners"]),

    # --- waiting for a partner ---------------------------------------------------------
    offer("pharmacist-reviews", "nsh-hospitals", "staff", "pharmacist",
          "Pharmacist sessions for care-home medication reviews",
          "Hospital pharmacists with care-home experience.",
          12, ["kingsford", "eastmoor"], ["care-homes"]),
    need("pcn-prescriber", "kingsford-pcn", "staff", "pharmacist",
         "Pharmacist prescriber time for structured medication reviews",
         "Independent prescribers to help with our review backlog.",
         10, ["kingsford"], ["prescriber"]),
    offer("hospital-storage", "nsh-hospitals", "premises", "storage",
          "Secure storage at the old Eastmoor outpatients building",
          "Dry, alarmed storage; loading bay.",
          400, ["eastmoor"]),
    offer("hospital-interviewing", "nsh-hospitals", "training", "equal-opportunity interviewing",
          "Inclusive recruitment and interviewing training",
          "Online half-day course for anyone who sits on interview panels.",
          20, [], ["online"], remote=True),
    need("hospital-social-work", "nsh-hospitals", "staff", "social worker",
         "Discharge social work capacity over winter",
         "Social workers on the discharge hub to cut delayed transfers of care.",
         40, ["kingsford"], ["discharge"]),
    offer("community-ot", "nsh-community", "staff", "occupational therapist",
          "OT assessments for housing adaptations",
          "Occupational therapists to assess for stairlifts, level-access showers and ramps.",
          15, ["eastmoor", "westdale"], ["housing-adaptations"]),
    offer("community-hot-desks", "nsh-community", "premises", "hot desk",
          "Hot desks at Kingsford Community Hospital",
          "Six desks with docking stations and NHS Wi-Fi.",
          300, ["kingsford"], ["nhs-wifi"]),
    offer("mh-first-aid", "fellside-mh", "training", "mental health first aid",
          "Mental Health First Aid (two-day) places",
          "Licensed instructors; certificates on completion.",
          32, ["kingsford", "fellside"], ["certificated"]),
    need("mh-memory-clinic", "fellside-mh", "premises", "clinic room",
         "Clinic room in Westdale for memory assessments",
         "Quiet, accessible room one day a week.",
         80, ["westdale"], ["accessible"]),
    offer("pcn-link-worker", "kingsford-pcn", "staff", "link worker",
          "Social prescribing link worker time for community groups",
          "Link workers can run sessions at your venue.",
          10, ["kingsford"]),
    offer("saltbay-pcn-hot-desk", "saltbay-pcn", "premises", "hot desk",
          "Hot desks at Saltbay Health Centre",
          "Two desks, Wednesdays and Fridays.",
          120, ["saltbay"]),
    need("saltbay-pcn-dementia", "saltbay-pcn", "training", "dementia awareness",
         "Dementia awareness for reception teams",
         "Dementia Friends-style sessions for front-of-house staff.",
         20, ["saltbay"]),
    offer("county-safeguarding-children", "nsh-county", "training", "safeguarding",
          "Safeguarding children level 2 (online)",
          "Self-paced online course with a live Q&A.",
          50, [], ["level-2", "online"], remote=True),
    offer("county-training-suite", "nsh-county", "premises", "training room",
          "County Hall training suite",
          "Three rooms that can be joined; video link.",
          80, ["kingsford"], ["video-link", "accessible", "projector"], until=60),
    offer("county-analyst", "nsh-county", "staff", "data analyst",
          "Public health analyst support",
          "Help with population data, needs assessments and evaluation.",
          10, [], ["public-health"], remote=True),
    need("county-ot", "nsh-county", "staff", "occupational therapist",
         "OT time to clear the adaptations waiting list",
         "Over 300 people are waiting for an OT assessment for adaptations.",
         20, ["eastmoor"], ["housing-adaptations"], min_quantity=10),
    need("eastmoor-leisure-hall", "eastmoor-dc", "premises", "community hall",
         "Community hall for a warm space this winter",
         "Daytime warm space with tea and advice.",
         150, ["eastmoor"], start=30, until=150),
    offer("brightwater-lounge", "brightwater", "premises", "community hall",
          "Community lounge at Harbour View",
          "Lounge with kitchen, available afternoons.",
          100, ["saltbay"]),
    need("brightwater-conflict", "brightwater", "training", "conflict resolution",
         "Conflict resolution for housing officers",
         "De-escalation skills for front-line housing staff.",
         20, ["saltbay"]),
    offer("hospice-end-of-life", "st-aidans", "training", "end-of-life care",
          "End-of-life care for care-home staff",
          "Recognising dying, symptom control and talking with families.",
          30, ["westdale", "kingsford"]),
    need("hospice-pharmacist", "st-aidans", "staff", "pharmacist",
         "Pharmacist advice for hospice at home",
         "Palliative medicines advice for the hospice-at-home team.",
         8, ["westdale"], ["palliative"]),
    need("carers-social-worker", "carers-network", "staff", "social worker",
         "Carers' assessment sessions with a social worker",
         "A social worker at our monthly carers' café to start assessments.",
         12, ["westdale", "fellside"]),
    offer("open-door-peers", "open-door", "staff", "peer support worker",
          "Peer mentors with lived experience",
          "Trained peer mentors to accompany people to appointments.",
          20, ["saltbay"], ["lived-experience"]),
    need("open-door-work-experience", "open-door", "jobs", "work experience placement",
         "Work experience for people leaving homelessness",
         "Short placements that lead to a reference.",
         4, ["saltbay"]),
    offer("college-leadership", "nsh-college", "training", "leadership",
          "First-line manager course places (ILM level 3)",
          "Ten evening sessions.",
          12, ["kingsford"], ["accredited"]),
    offer("fire-station-room", "nsh-fire", "premises", "community hall",
          "Community room at Fellside fire station",
          "Seats 40, kitchen, parking.",
          80, ["fellside"]),
    offer("fire-gift-home-safety", "nsh-fire", "training", "fire safety awareness",
          "Free home fire safety check training for partner staff",
          "Short session so your staff can spot fire risks and refer for a home visit.",
          30, ALL_AREAS, ["home-visits"], gift=True),
    offer("leisure-work-experience", "westdale-leisure", "jobs", "work experience placement",
          "Lifeguard and gym work experience",
          "Placements with a route into a pool lifeguard qualification.",
          4, ["westdale"]),
    need("leisure-pool-first-aid", "westdale-leisure", "training", "first aid",
         "Pool lifeguard first aid refresher",
         "Annual refresher including pool rescue.",
         12, ["westdale"], ["pool-rescue"]),
    need("cvs-analyst", "nsh-cvs", "staff", "data analyst",
         "Analyst help to map community assets",
         "Mapping the county's community groups and venues.",
         6, [], remote=True),
    offer("cvs-safeguarding", "nsh-cvs", "training", "safeguarding",
          "Safeguarding for volunteers (basic)",
          "Introductory online safeguarding for volunteers and trustees.",
          40, [], ["basic", "online"], remote=True),
    offer("ambulance-paramedic", "nsh-ambulance", "staff", "paramedic",
          "Paramedic time for frequent-caller case reviews",
          "Paramedics join multi-agency case reviews.",
          8, ALL_AREAS),
    need("ambulance-hot-desk", "nsh-ambulance", "premises", "hot desk",
         "Hot desks for community paramedics in Kingsford",
         "Somewhere to write up between calls.",
         200, ["kingsford"]),
    need("college-graduate", "nsh-college", "jobs", "graduate placement",
         "Graduate placements for returning adult learners",
         "Paid placements for access-course graduates.",
         3, ["kingsford"]),
]

# The exchanges the demo guarantees, as (kind, [(offer key, need key), ...]) in giving order.
PLANTED = {
    "R1": ("cycle", [("R1-offer-mh-nurse", "R1-need-mh-nurse"),
                     ("R1-offer-supported-jobs", "R1-need-supported-jobs")]),
    "R2": ("cycle", [("R2-offer-digital", "R2-need-digital"),
                     ("R2-offer-apprentices", "R2-need-apprentices")]),
    "R3": ("cycle", [("R3-offer-clinic-room", "R3-need-clinic-room"),
                     ("R3-offer-manual-handling", "R3-need-manual-handling")]),
    "T1": ("cycle", [("T1-offer-meeting-room", "T1-need-meeting-room"),
                     ("T1-offer-carer-awareness", "T1-need-carer-awareness"),
                     ("T1-offer-fire-safety", "T1-need-fire-safety")]),
    "T2": ("cycle", [("T2-offer-housing-officer", "T2-need-housing-officer"),
                     ("T2-offer-trauma", "T2-need-trauma"),
                     ("T2-offer-first-aid", "T2-need-first-aid")]),
    "G": ("chain", [("G-offer-gift-training-room", "G-need-training-room"),
                    ("G-offer-volunteer-coordinator", "G-need-volunteer-coordinator"),
                    ("G-offer-hall", "G-need-hall")]),
}

# Demo accounts. Passwords are public by design: they are printed by `flask demo seed`,
# listed in the README and shown on the login page in DEMO_MODE only.
ADMIN_PASSWORD = "northshire-admin-demo"
COORDINATOR_PASSWORD = "northshire-coordinator-demo"
AUDITOR_PASSWORD = "northshire-auditor-demo"
MEMBER_PASSWORD = "northshire-member-demo"
EMAIL_DOMAIN = "northshire.example"

STAFF_USERS = [
    # email local part, name, role, password
    ("admin", "Priya Raman", "admin", ADMIN_PASSWORD),
    ("coordinator", "Tom Hargreaves", "coordinator", COORDINATOR_PASSWORD),
    ("coordinator2", "Ruth Adeyemi", "coordinator", COORDINATOR_PASSWORD),
    ("auditor", "Gareth Lloyd", "auditor", AUDITOR_PASSWORD),
]
