"""The demo generator: people in batches → canonical event tables.

Every batch of :data:`CUSTOMERS_PER_BATCH` people has its own random stream, seeded by
``(seed, batch number)``: the same seed gives the same events, and runs with the same seed share
their full batches (10,000 people are the 5,000 of a 5,000-people run and 5,000 more, ids
included).
Work is vectorised over the batch (NumPy and Arrow); Python loops only over generators and
customer groups, never over events.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa

from journeylens.demo.columns import take
from journeylens.demo.crm import crm_new_customers, crm_sync
from journeylens.demo.frame import Attempts, Block, Conversions, assemble
from journeylens.demo.intents import plan_intents
from journeylens.demo.lifecycle import aftercare
from journeylens.demo.marketing import ads, data_provider, emails, social
from journeylens.demo.offline import offline_events, stays
from journeylens.demo.patterns import SEGMENTS
from journeylens.demo.people import make_people
from journeylens.demo.seasons import DEMO_END, window
from journeylens.demo.sessions import plan_sessions
from journeylens.demo.web import expand_sessions
from journeylens.demo.world import World, make_world
from journeylens.errors import ConfigError

__all__ = ["CUSTOMERS_PER_BATCH", "DEMO_END", "generate_events"]

CUSTOMERS_PER_BATCH = 5_000
"""People per batch. Part of the definition of the data: changing it changes the events."""


def generate_events(
    customers: int,
    *,
    seed: int = 7,
    end: date = DEMO_END,
    designed_channel: bool = False,
    first_batch: int = 0,
    workers: int = 1,
    truth: bool = False,
) -> Iterator[pa.Table]:
    """Yield the demo's events, one Arrow table per batch of people.

    ``customers`` people (shoppers, guests, B2B contacts and ad audiences of the two brands)
    over the 365 days ending on ``end`` (Europe/Rome days). Tables have the columns of
    :data:`journeylens.schema.EVENT_SCHEMA` with ``explicit_channel`` in place of ``channel``
    (set on offline touchpoints only; the store derives the rest from the context), as
    :func:`journeylens.events.store.append_events` takes them; with ``designed_channel`` they
    have ``channel`` instead: the channel each touchpoint was designed to land in. Rows are
    ordered by person, then time. ``first_batch`` skips the batches before it. ``workers`` > 1
    generates batches in that many processes; the tables come in the same order and are the
    same. ``truth`` adds the ground truth the events hide — ``demo_person`` (the person's
    global number) and ``demo_group`` (their customer group, see docs/demo.md) — for checking
    identity resolution and personas; the store ignores these columns.

    >>> tables = list(generate_events(50, seed=1))
    >>> tables[0].num_rows > 500, tables[0].column_names[:3]
    (True, ['event_id', 'type', 'event'])
    """
    if customers < 1:
        raise ConfigError("customers: must be at least 1", field="customers")
    if workers < 1:
        raise ConfigError("workers: must be at least 1", field="workers")
    per_batch = CUSTOMERS_PER_BATCH
    tasks = [
        (seed, index, index * per_batch, min(per_batch, customers - index * per_batch), end,
         designed_channel, truth)
        for index in range(first_batch, -(-customers // per_batch))
    ]  # fmt: skip
    if workers == 1:
        for task in tasks:
            yield _batch_task(*task)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[pa.Table]] = deque()
        queue = iter(tasks)
        try:
            while True:
                while len(pending) <= workers and (following := next(queue, None)):
                    pending.append(pool.submit(_batch_task, *following))
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


@lru_cache(maxsize=4)
def _world(end: date) -> World:
    return make_world(window(end))


def _batch_task(
    seed: int, index: int, first: int, size: int, end: date, designed_channel: bool, truth: bool
) -> pa.Table:
    """One batch, from plain arguments (what a worker process receives)."""
    return generate_batch(
        seed, index, first, size, _world(end), designed_channel=designed_channel, truth=truth
    )


def generate_batch(
    seed: int,
    index: int,
    first_person: int,
    size: int,
    world: World,
    *,
    designed_channel: bool = False,
    truth: bool = False,
) -> pa.Table:
    """The events of batch ``index``: ``size`` people from global index ``first_person``."""
    rng = np.random.default_rng([seed, index])
    people = make_people(rng, first_person, size)
    intents = plan_intents(rng, people, world.win, world.profiles)
    sessions = plan_sessions(rng, people, intents, world.win)
    web = expand_sessions(rng, people, intents, sessions, world)
    blocks: list[Block] = [web.block]
    blocks += crm_sync(rng, people, world)
    offline, offline_conv = offline_events(rng, people, intents, world)
    blocks += offline
    success = ~web.result_error
    conv = Conversions(
        person=np.concatenate([web.result_person[success], offline_conv.person]),
        intent=np.concatenate([web.result_intent[success], offline_conv.intent]),
        ts=np.concatenate([web.result_ts[success], offline_conv.ts]),
        mode=np.concatenate([intents.mode[web.result_intent[success]], offline_conv.mode]),
        error=np.concatenate([web.result_retry[success], offline_conv.error]),
    )
    stay_blocks, check_out = stays(rng, people, intents, conv, world)
    blocks += stay_blocks
    blocks.append(crm_new_customers(rng, people, conv, world))
    attempts = Attempts(
        web.result_person, web.result_intent, web.result_ts, web.result_device, web.result_error
    )
    blocks += aftercare(rng, people, intents, conv, attempts, check_out, world)
    mail, clicks = emails(rng, people, conv, world)
    blocks += mail
    blocks.append(expand_sessions(rng, people, intents, clicks, world, identify=False).block)
    blocks.append(ads(rng, people, intents, world))
    blocks.append(social(rng, people, intents, world))
    blocks.append(data_provider(rng, people, world))
    table, person = assemble(
        blocks,
        start_us=world.win.start_us,
        end_us=world.win.end_us,
        id_prefix=f"demo-{seed}-{index}-",
        first_number=0,
        import_id=f"demo-seed-{seed}",
        rng=rng,
        designed_channel=designed_channel,
    )
    if truth:
        groups = pa.array([segment.key for segment in SEGMENTS])
        table = table.append_column("demo_person", pa.array(people.gidx[person]))
        table = table.append_column("demo_group", take(groups, people.segment[person]))
    return table
