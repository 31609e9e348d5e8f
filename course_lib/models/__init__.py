"""Generators and discriminators, from toy MLPs to the networks of the later notebooks.

Conventions shared by every model here:
- a generator maps noise ``z`` of shape ``(B, z_dim)`` to samples;
- a discriminator returns **logits of shape (B,)**, one per sample (``losses`` turns them into losses);
- nothing is seeded here: build models after ``set_seed()``.
"""
from course_lib.models.common import count_params
from course_lib.models.conditional import (
    CondGeneratorBlock, ConditionalDiscriminator, ConditionalGenerator, FiLM,
)
from course_lib.models.dcgan import (
    D_BLOCKS, D_NORMS, DCGAN_SIZES, DCGANDiscriminator, DCGANGenerator, dcgan_init, G_BLOCKS, generator_block,
    minibatch_std, MinibatchStd, ResidualDownBlock, ResidualUpBlock,
)
from course_lib.models.growing import GrowingDiscriminator, GrowingGenerator, GrowthSchedule
from course_lib.models.mlp import Pack, mlp_discriminator, mlp_generator
from course_lib.models.projected import ParserTaps, ProjectedDiscriminator, projected_parser_d
from course_lib.models.transfer import (
    MASK_REGIONS, PARSE_REGIONS, LayeredTransfer, PatchDiscriminator, ReferenceTransferGenerator, RegionParser,
    StyleEncoder, TryOnGenerator,
)

__all__ = [
    "CondGeneratorBlock", "ConditionalDiscriminator", "ConditionalGenerator", "count_params", "D_BLOCKS", "D_NORMS", "dcgan_init",
    "DCGAN_SIZES", "DCGANDiscriminator", "DCGANGenerator", "FiLM", "G_BLOCKS", "generator_block", "GrowingDiscriminator", "GrowingGenerator",
    "GrowthSchedule", "LayeredTransfer", "MASK_REGIONS",
    "minibatch_std", "MinibatchStd", "mlp_discriminator", "mlp_generator", "Pack", "PARSE_REGIONS", "ParserTaps",
    "projected_parser_d", "ProjectedDiscriminator", "PatchDiscriminator", "ReferenceTransferGenerator", "RegionParser", "ResidualDownBlock",
    "ResidualUpBlock", "StyleEncoder",
    "TryOnGenerator"
]
