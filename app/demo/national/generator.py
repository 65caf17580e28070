"""The national portfolio, holder by holder, in batches of rows.

For each holder: a centre drawn by weight (so regions follow their population), an adviser
of that centre, 0 to 3 loans one after the other (a new loan once the previous one is
repaid, sometimes after a rejection, rarely alongside an active one), an enterprise for
about two borrowers in three (some co-owned with another holder) with its follow-up
visits, individual coaching sessions, and every 25 holders of a centre a group session.
Everything is drawn from one `random.Random(seed)` in a fixed order, so a seed and a
`today` give the same rows.
"""

import bisect
import itertools
import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.core.enums import Region
from app.demo.national import loans as loan_stories
from app.demo.national import people
from app.demo.national.calendar import DaySampler, at_office_hours
from app.demo.national.geography import REGION_POPULATION, RURAL_SHARE
from app.demo.national.loans import IdBlock, LoanStory, Product
from app.demo.national.tables import TABLES, Row

HISTORY_YEARS = 5
LOANS_PER_HOLDER = ((0, 18), (1, 52), (2, 22), (3, 8))
GROUP_EVERY = 25


@dataclass
class CentreStaff:
    """A stored centre and the ids of its staff; `recent` keeps its latest holders, who
    make up its next group session."""

    id: int
    region: Region
    weight: float
    adviser_ids: list[int]
    manager_id: int
    recent: deque[people.HolderDraft] = field(default_factory=lambda: deque(maxlen=40))
    holders: int = 0


@dataclass
class NextIds(IdBlock):
    holders: int
    enterprises: int
    sessions: int
    follow_ups: int


@dataclass
class Batch:
    rows: dict[str, list[Row]]
    loans: int = 0

    @classmethod
    def empty(cls) -> "Batch":
        return cls({table: [] for table in TABLES})


def stop_risk(disbursed_on: date, today: date, farming: bool) -> float:
    """The chance that a borrower stops paying: 9 % for older cohorts, rising to 19 % for
    loans disbursed in the last 18 months (a dry year; farming loans a third more)."""
    recent = min(1.0, max(0.0, 1 - (today - disbursed_on).days / 548))
    risk = 0.09 + 0.10 * recent
    return risk * (1.33 if farming and recent > 0 else 1.0)


class NationalGenerator:
    def __init__(
        self,
        *,
        seed: int,
        today: date,
        loans: int,
        centres: Sequence[CentreStaff],
        products: Sequence[Product],
        ids: NextIds,
        youth: tuple[int, int],
    ) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.loans_target = loans
        self.centres = list(centres)
        self.cumulative_weights = list(itertools.accumulate(c.weight for c in self.centres))
        self.products = [p for p in products]
        self.ids = ids
        self.youth = youth
        self.history_start = date(today.year - HISTORY_YEARS, today.month, min(today.day, 28))
        self.applications = DaySampler(self.history_start, today)
        self.regions = list(REGION_POPULATION)
        self.region_weights = [float(REGION_POPULATION[r]) for r in self.regions]
        self.holder_number = 0
        self.loans_made = 0

    def batches(self, loans_per_batch: int) -> Iterator[Batch]:
        """Batches of rows holding at least `loans_per_batch` loans each (the last fewer),
        until `loans` loans are made."""
        batch = Batch.empty()
        while self.loans_made < self.loans_target:
            self.add_holder(batch)
            if batch.loans >= loans_per_batch:
                yield batch
                batch = Batch.empty()
        if any(batch.rows.values()):
            yield batch

    def draw_centre(self) -> CentreStaff:
        point = self.rng.random() * self.cumulative_weights[-1]
        index = bisect.bisect_left(self.cumulative_weights, point)
        return self.centres[min(index, len(self.centres) - 1)]

    def new_holder(self, centre: CentreStaff, enrolled_on: date) -> people.HolderDraft:
        holder = people.draft_holder(
            self.rng,
            self.ids.holders,
            self.holder_number,
            centre.id,
            centre.region,
            self.rng.choice(centre.adviser_ids),
            enrolled_on,
            RURAL_SHARE,
            self.regions,
            self.region_weights,
            self.youth,
        )
        self.ids.holders += 1
        return holder

    def add_holder(self, batch: Batch) -> None:
        rng, today = self.rng, self.today
        centre = self.draw_centre()
        wanted = rng.choices(*zip(*LOANS_PER_HOLDER, strict=True))[0]
        wanted = min(wanted, self.loans_target - self.loans_made)
        first_applied_on = self.applications.draw(rng)
        if wanted:
            enrolled_on = first_applied_on - timedelta(days=rng.randint(20, 300))
        else:
            enrolled_on = first_applied_on
        holder = self.new_holder(centre, enrolled_on)
        number = self.holder_number
        self.holder_number += 1

        enterprise_id: int | None = None
        if wanted and rng.random() < 0.65:
            enterprise_id = self.ids.enterprises
            self.ids.enterprises += 1

        # Loans, one after the other.
        statuses: list[str] = []
        first_disbursed_on: date | None = None
        applied_on = first_applied_on
        for _ in range(wanted):
            story = self.loan_story(holder, centre, enterprise_id, applied_on)
            loan_stories.tell_story(
                rng,
                story,
                today,
                stop_risk(story.applied_on, today, people.is_farming(holder.sector)),
            )
            rows = loan_stories.loan_rows(story, self.ids)
            batch.rows["loans"].append(rows.loan)
            batch.rows["installments"].extend(rows.installments)
            batch.rows["loan_transactions"].extend(rows.transactions)
            batch.rows["allocations"].extend(rows.allocations)
            batch.loans += 1
            self.loans_made += 1
            statuses.append(rows.status)
            if first_disbursed_on is None:
                first_disbursed_on = story.disbursed_on
            next_on = self.next_application(story, rows.status, rows.ended_on)
            if next_on is None or next_on > today:
                break
            applied_on = next_on

        # The holder's status, their enterprise and its co-owner.
        owners = [holder]
        created_on: date | None = None
        if enterprise_id is not None:
            start = first_disbursed_on or first_applied_on
            created_on = max(enrolled_on, start + timedelta(days=rng.randint(-60, 60)))
            if created_on > today:
                created_on = None
            if rng.random() < 0.08:
                partner = self.new_holder(centre, enrolled_on)
                owners.append(partner)
        status, has_project = self.holder_status(holder, statuses, created_on, enterprise_id)
        batch.rows["holders"].append(people.holder_row(rng, holder, number, status, has_project))
        for partner in owners[1:]:
            batch.rows["holders"].append(
                people.holder_row(
                    rng,
                    partner,
                    self.holder_number,
                    "enterprise_created" if created_on else "in_support",
                    True,
                )
            )
            self.holder_number += 1
        if enterprise_id is None and status == "in_support" and rng.random() < 0.1:
            enterprise_id = self.ids.enterprises
            self.ids.enterprises += 1
        if enterprise_id is not None:
            if "written_off" in statuses:
                trajectory = "closes" if rng.random() < 0.6 else "struggles"
            else:
                trajectory = rng.choices(("grows", "struggles", "closes"), (78, 14, 8))[0]
            enterprise = people.enterprise_rows(
                rng, enterprise_id, owners, created_on, today, trajectory, self.ids.follow_ups
            )
            self.ids.follow_ups += len(enterprise.follow_ups)
            batch.rows["enterprises"].append(enterprise.enterprise)
            batch.rows["enterprise_owners"].extend(
                (enterprise_id, owner.id, None) for owner in owners
            )
            batch.rows["follow_ups"].extend(enterprise.follow_ups)

        # Coaching.
        for person in owners:
            until = min(today, person.enrolled_on + timedelta(days=730))
            if status == "dropped":
                until = min(today, person.enrolled_on + timedelta(days=120))
            count = rng.randint(2, 5) if statuses else rng.randint(1, 3)
            linked = (enterprise_id, created_on) if enterprise_id and created_on else None
            for session, participant in people.individual_sessions(
                rng, person, until, count, linked, self.ids.sessions
            ):
                batch.rows["coaching_sessions"].append(session)
                batch.rows["session_participants"].append(participant)
            self.ids.sessions += count
            centre.recent.append(person)
            centre.holders += 1
            if centre.holders % GROUP_EVERY == 0 and len(centre.recent) >= 6:
                attendees = rng.sample(
                    list(centre.recent), rng.randint(6, min(15, len(centre.recent)))
                )
                session, participants = people.group_session(
                    rng,
                    self.ids.sessions,
                    centre.id,
                    rng.choice(centre.adviser_ids),
                    attendees,
                    today,
                )
                self.ids.sessions += 1
                batch.rows["coaching_sessions"].append(session)
                batch.rows["session_participants"].extend(participants)

    def loan_story(
        self,
        holder: people.HolderDraft,
        centre: CentreStaff,
        enterprise_id: int | None,
        applied_on: date,
    ) -> LoanStory:
        rng = self.rng
        product = loan_stories.choose_product(rng, self.products, people.is_farming(holder.sector))
        principal, term, grace = loan_stories.choose_terms(rng, product)
        return LoanStory(
            holder_id=holder.id,
            centre_id=centre.id,
            enterprise_id=enterprise_id if enterprise_id and rng.random() < 0.85 else None,
            product=product,
            principal=principal,
            term=term,
            grace_periods=grace,
            purpose=rng.choice(loan_stories.PURPOSES),
            adviser_id=holder.adviser_id,
            decider_id=centre.manager_id,
            applied_at=at_office_hours(rng, applied_on),
        )

    def next_application(self, story: LoanStory, status: str, ended_on: date | None) -> date | None:
        """When the holder applies again: after a repaid loan, after a rejection (for some),
        and, rarely, while a loan is still running; never after a write-off."""
        rng = self.rng
        if status == "repaid" and ended_on is not None:
            return ended_on + timedelta(days=rng.randint(10, 90))
        if status == "rejected" and story.decided_at is not None and rng.random() < 0.5:
            return story.decided_at.date() + timedelta(days=rng.randint(30, 150))
        if status == "active" and story.disbursed_on is not None and rng.random() < 0.1:
            return story.disbursed_on + timedelta(days=rng.randint(90, 200))
        return None

    def holder_status(
        self,
        holder: people.HolderDraft,
        loan_statuses: list[str],
        created_on: date | None,
        enterprise_id: int | None,
    ) -> tuple[str, bool]:
        """(status, has a project) consistent with the holder's loans and enterprise."""
        rng, today = self.rng, self.today
        months = (today - holder.enrolled_on).days / 30.4
        if loan_statuses:
            if created_on is not None:
                ended = all(s in ("repaid", "rejected") for s in loan_statuses)
                if ended and months > 36 and rng.random() < 0.4:
                    return "graduated", True
                return "enterprise_created", True
            return "in_support", True
        del enterprise_id
        if months < 3:
            status = rng.choices(("applicant", "eligible", "in_support"), (50, 35, 15))[0]
        elif months < 12:
            status = rng.choices(("eligible", "in_support", "dropped"), (20, 65, 15))[0]
        else:
            status = rng.choices(("in_support", "dropped"), (65, 35))[0]
        return status, status != "applicant" or rng.random() < 0.5
