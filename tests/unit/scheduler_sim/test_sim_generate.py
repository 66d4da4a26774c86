"""The synthetic workload generator: seeded, mixed Dojo/GPU, multi-tenant."""

from __future__ import annotations

from scheduler.simulate.generate import WorkloadSpec, generate


def test_same_seed_same_jobs_and_other_seed_differs() -> None:
    spec = WorkloadSpec(jobs=200, seed=7)
    assert generate(spec) == generate(WorkloadSpec(jobs=200, seed=7))
    assert generate(spec) != generate(WorkloadSpec(jobs=200, seed=8))


def test_mix_of_tiles_gpus_tenants_and_alternatives() -> None:
    jobs = generate(WorkloadSpec(jobs=500, tenants=5, seed=1))
    firsts = {j.accelerators[0] for j in jobs}
    assert "dojo-tile" in firsts and firsts & {"gpu-a100", "gpu-h100"}
    assert len({j.tenant for j in jobs}) == 5
    flexible = [j for j in jobs if len(j.accelerators) == 2]
    assert 0.15 < len(flexible) / len(jobs) < 0.45
    assert all(len(set(j.accelerators)) == len(j.accelerators) for j in jobs)
    assert [j.submit_s for j in jobs] == sorted(j.submit_s for j in jobs)
    assert len({j.job_id for j in jobs}) == 500
    assert {j.priority for j in jobs} == {"low", "normal", "high"}
    assert all(j.count >= 1 and j.duration_s >= 30 for j in jobs)
