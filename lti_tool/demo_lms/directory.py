"""The demo LMS's people and courses. Invented people; locales cover Danish, Swedish and English."""

from __future__ import annotations

from dataclasses import dataclass

from lti_tool.lti import claims

INSTRUCTOR = claims.ROLE_PREFIX_CONTEXT + "Instructor"
LEARNER = claims.ROLE_PREFIX_CONTEXT + "Learner"
INSTITUTION_STAFF = claims.ROLE_PREFIX_INSTITUTION + "Staff"


@dataclass(frozen=True)
class DemoUser:
    """One invented person of the demo LMS, with the locale and job the launch claims carry."""

    id: str
    given_name: str
    family_name: str
    email: str
    locale: str
    job: str

    @property
    def name(self) -> str:
        """Given and family name, as the LMS shows the person."""
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class DemoCourse:
    """A demo course: its members by user id, plus a count of synthetic learners."""

    id: str
    label: str
    title: str
    instructors: tuple[str, ...]
    learners: tuple[str, ...]
    # Extra synthetic members, to exercise paging in the roster service.
    synthetic_learners: int = 0


USERS = {
    u.id: u
    for u in (
        DemoUser("hanne", "Hanne", "Kristensen", "hanne.kristensen@demo.example", "da-DK",
                 "Integrationskoordinator"),
        DemoUser("jonas", "Jonas", "Madsen", "jonas.madsen@demo.example", "da-DK",
                 "Jobkonsulent, jobcenter"),
        DemoUser("sara", "Sara", "Lindqvist", "sara.lindqvist@demo.example", "sv-SE",
                 "Socialsekreterare"),
        DemoUser("amir", "Amir", "Haddad", "amir.haddad@demo.example", "en-GB",
                 "Project coordinator, fast track"),
    )
}

COURSES = {
    c.id: c
    for c in (
        DemoCourse("vejle-int", "INT-2026", "Integration i praksis – efteruddannelse 2026",
                   ("hanne",), ("jonas", "sara", "amir")),
        DemoCourse("malmo-change", "CHANGE-26", "CHANGE – kompetensutveckling 2026",
                   ("hanne",), ("sara", "jonas")),
        # Amir reads English: his own course takes the English programme, as a municipality
        # would place it for its English-speaking staff.
        DemoCourse("fast-track", "FT-2026", "Fast track to work – English-speaking staff 2026",
                   ("hanne",), ("amir",)),
        DemoCourse("stor-kursus", "STOR", "Stort hold (1.000 deltagere)",
                   ("hanne",), ("jonas",), synthetic_learners=1000),
    )
}


# The large course's last hundred members are Swedish (900–949) and English-speaking (950–999)
# staff, so whole programmes can be completed in each interface language.
_SYNTHETIC_LOCALES = ((950, "en-GB", "Participant", "Staff member"), (900, "sv-SE", "Deltagare", "Medarbetare"),
                      (0, "da-DK", "Deltager", "Medarbejder"))


def synthetic_user(course: DemoCourse, index: int) -> DemoUser:
    """The `index`th synthetic learner of a course; the last ones are Swedish and English speakers."""
    locale, given, job = next((loc, g, j) for first, loc, g, j in _SYNTHETIC_LOCALES if index >= first)
    return DemoUser(f"{course.id}-l{index:04d}", given, f"{index:04d}",
                    f"deltager{index:04d}@demo.example", locale, job)


# A course also takes `<course>-x<hex>` as a learner: a member no one else has, which a test
# makes up on the spot (tests/conftest.py `fresh_learner`). They are not on the roster (NRPS)
# that lists the course's members: they join it as someone enrolled since it was read.
_FRESH_MARK = "-x"
_HEX = frozenset("0123456789abcdef")


def fresh_user(course: DemoCourse, user_id: str) -> DemoUser | None:
    """The made-up learner `<course>-x<hex>` of `course`.

    Named like a synthetic member by the id's last four characters ("Deltager 3f9a"), followed by
    the rest of the id, so that no two share a name and none is taken for a synthetic member."""
    prefix = course.id + _FRESH_MARK
    key = user_id[len(prefix):]
    if not user_id.startswith(prefix) or not 4 <= len(key) <= 32 or not set(key) <= _HEX:
        return None
    return DemoUser(user_id, "Deltager", f"{key[-4:]} x{key[:-4]}", f"deltager-{key}@demo.example", "da-DK",
                    "Medarbejder")


def find_user(user_id: str) -> DemoUser | None:
    """A named user, a course's synthetic member or a made-up `<course>-x<hex>` learner."""
    if user_id in USERS:
        return USERS[user_id]
    for course in COURSES.values():
        if (fresh := fresh_user(course, user_id)) is not None:
            return fresh
        prefix = course.id + "-l"
        if user_id.startswith(prefix) and user_id[len(prefix):].isdigit():
            index = int(user_id[len(prefix):])
            if 0 <= index < course.synthetic_learners:
                return synthetic_user(course, index)
    return None


def members(course: DemoCourse) -> list[tuple[DemoUser, str]]:
    """Everyone on the roster, with their role URI (made-up `-x` learners are not on it)."""
    result = [(USERS[u], INSTRUCTOR) for u in course.instructors]
    result += [(USERS[u], LEARNER) for u in course.learners]
    result += [(synthetic_user(course, i), LEARNER) for i in range(course.synthetic_learners)]
    return result


def role_in(course: DemoCourse, user_id: str) -> str | None:
    """The role of `user_id` in `course`, None when they are not enrolled."""
    if user_id in course.instructors:
        return INSTRUCTOR
    if user_id in course.learners or (find_user(user_id) and user_id.startswith(course.id + "-l")):
        return LEARNER
    if fresh_user(course, user_id) is not None:
        return LEARNER
    return None
