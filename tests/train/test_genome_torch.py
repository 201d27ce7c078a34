"""The torch form of a genome (train.genome_torch): parity with the numpy reference, gradients only
where the genome has links, and trained weights written back into the genome."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings

from cppnart.graph.genome import Genome, evaluate
from cppnart.graph.picbreeder import parse_picbreeder
from cppnart.train.genome_torch import GenomeModule
from tests.genome_fixtures import HSV_XML, genomes

PROBE = np.random.default_rng(3).uniform(-1.5, 1.5, (200, 2)).astype(np.float32)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(genomes())
def test_torch_matches_numpy_for_random_genomes(genome: Genome):
    z = np.random.default_rng(1).uniform(-1, 1, (2, genome.z_dim)).astype(np.float32)
    with torch.no_grad():
        got = GenomeModule(genome)(torch.from_numpy(PROBE), torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(got, evaluate(genome, PROBE, z), atol=2e-4)


def test_a_gradient_step_moves_only_links_and_round_trips_into_the_genome():
    genome = parse_picbreeder(HSV_XML)
    net = GenomeModule(genome)
    coords = torch.from_numpy(PROBE)
    loss = net(coords).mean()
    loss.backward()
    with torch.no_grad():
        for i, p in enumerate(net.weights):
            mask = getattr(net, f"mask{i}")
            if p.grad is None:  # the first layer's (empty) matrix over earlier layers
                assert p.numel() == 0
                continue
            assert torch.all(p.grad[mask == 0] == 0)  # absent links get no gradient
            p -= 0.5 * p.grad * mask
    trained = net.to_genome()
    assert [k.weight for k in trained.links] != [k.weight for k in genome.links]
    with torch.no_grad():
        np.testing.assert_allclose(net(coords).numpy(), evaluate(trained, PROBE), atol=1e-5)
