"""Tiny, randomly initialised MusicGen, MusicGen-Melody and CLAP checkpoints, built offline for the tests.

Like audiocraft's ``'debug'`` model: the same classes as the real checkpoints with every size
cut down, so a test exercises the very ``from_pretrained(path)`` code users run without a
download. Each builder saves model + processor (feature extractor and a word-level tokenizer
made with the ``tokenizers`` library, since no tokenizer can be fetched) into ``path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aural_core.vocab import TAG_NAMES

# Words of the prompts the tests send (lower case); anything else maps to the unknown token.
_WORDS = (
    "this is a sound of bpm in major minor calm ambient piano with soft pads and no drums "
    "upbeat happy pop bright synths claps driving beat dark brooding drone deep bass "
    "c d e f g a b # , . - 60 90 100 120 140"
)


def word_tokenizer(specials: tuple[str, ...], template: str, **special_names):
    """A lower-casing word-level fast tokenizer over :data:`_WORDS` and the tag names.

    ``specials`` come first, in the id order the model's config expects (T5: ``<pad>``=0,
    ``</s>``=1; RoBERTa: ``<s>``=0, ``<pad>``=1, ``</s>``=2); ``template`` wraps each text in
    them as the real tokenizer would (e.g. ``"<s> $A </s>"``).
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = " ".join([_WORDS, *TAG_NAMES]).lower().replace("-", " - ").split()
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys([*specials, *words]))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=special_names["unk_token"]))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # splits "minor," and "f#" at punctuation
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(t, vocab[t]) for t in specials if t in template])
    return PreTrainedTokenizerFast(tokenizer_object=tok, **special_names), len(vocab)


def t5_word_tokenizer():
    """A word tokenizer with T5's special ids (``<pad>``=0, ``</s>``=1) and its vocabulary size."""
    return word_tokenizer(("<pad>", "</s>", "<unk>"), "$A </s>", pad_token="<pad>", eos_token="</s>",
                          unk_token="<unk>")


def roberta_word_tokenizer():
    """A word tokenizer with RoBERTa's special ids (CLAP's text tower) and its vocabulary size."""
    return word_tokenizer(("<s>", "<pad>", "</s>", "<unk>"), "<s> $A </s>", bos_token="<s>", pad_token="<pad>",
                          eos_token="</s>", unk_token="<unk>")


def _tiny_t5():
    """The word tokenizer and the one-layer T5 text-encoder config both MusicGen builders share."""
    from transformers import T5Config

    tokenizer, n_vocab = t5_word_tokenizer()
    return tokenizer, T5Config(vocab_size=n_vocab, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                               pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)


def make_tiny_musicgen(path) -> Path:
    """Save a tiny MusicGen (T5 text encoder, EnCodec at 32 kHz / 50 Hz, 2 codebooks) to ``path``."""
    from transformers import MusicgenConfig, MusicgenDecoderConfig

    path = Path(path)
    tokenizer, text = _tiny_t5()
    codebook_size, n_codebooks = 32, 2
    audio = _tiny_encodec()
    # As in the real checkpoints, the pad/start token is one past the codebook (vocab_size);
    # transformers warns that it lies outside the vocabulary, which is expected here.
    # Weights drawn with std 1 (not 0.02): the random model's logits are then far from flat, so
    # its samples follow the text conditioning, and a test can see that it reaches the model.
    decoder = MusicgenDecoderConfig(vocab_size=codebook_size, num_codebooks=n_codebooks,
                                    hidden_size=16, ffn_dim=32, num_hidden_layers=1,
                                    num_attention_heads=2, max_position_embeddings=512,
                                    pad_token_id=codebook_size, bos_token_id=codebook_size,
                                    initializer_factor=1.0)
    config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    return save_random_musicgen(config, tokenizer, path, max_length=256, top_k=8)


def save_random_musicgen(config, tokenizer, path, *, max_length: int, top_k: int) -> Path:
    """Build a MusicGen from ``config`` with seeded random weights and random codebooks, give it
    sampling defaults (classifier-free guidance 3, top-k) and save it with its processor."""
    import torch
    from transformers import EncodecFeatureExtractor, MusicgenForConditionalGeneration, MusicgenProcessor

    start = config.decoder.pad_token_id  # one past the codebook, as in the real checkpoints
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config)
    random_codebooks(model)
    model.generation_config.update(decoder_start_token_id=start, pad_token_id=start, bos_token_id=start,
                                   do_sample=True, guidance_scale=3.0, max_length=max_length, top_k=top_k)
    model.save_pretrained(path)
    feature_extractor = EncodecFeatureExtractor(feature_size=1, sampling_rate=32000)
    MusicgenProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(path)
    return Path(path)


def _tiny_encodec():
    """EnCodec at 32 kHz / 50 Hz with 2 codebooks of 32 entries (see make_tiny_musicgen)."""
    from transformers import EncodecConfig

    # 8*5*4*4 = 640 samples per frame at 32 kHz = 50 frames/s, as musicgen-small. With a
    # 32-entry (5-bit) codebook, 0.5 kbps gives exactly 2 quantizers = the decoder's codebooks.
    return EncodecConfig(sampling_rate=32000, upsampling_ratios=[8, 5, 4, 4], codebook_size=32,
                         target_bandwidths=[0.5], hidden_size=8, num_filters=2, num_lstm_layers=1,
                         num_residual_layers=1, kernel_size=3, last_kernel_size=3, residual_kernel_size=3)


def random_codebooks(model) -> None:
    """EnCodec initialises its codebooks to zeros (real ones are learnt), which would decode
    every token to the same audio; random codebooks make different tokens sound different."""
    for layer in model.audio_encoder.quantizer.layers:
        layer.codebook.embed.normal_()
        layer.codebook.embed_avg.copy_(layer.codebook.embed)


def make_tiny_musicgen_melody(path) -> Path:
    """Save a tiny MusicGen-Melody (T5 text encoder, the tiny EnCodec, 2 codebooks, 12-bin chroma
    of at most 32 frames) with its tokenizer and ``preprocessor_config.json`` to ``path``.

    The feature extractor's settings are those of ``facebook/musicgen-melody``; its config is
    written as JSON because ``MusicgenMelodyFeatureExtractor`` cannot be built without
    torchaudio (the renderer computes the chroma itself: aural_core/render/melody.py).
    """
    import json

    import torch
    from transformers import (
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
    )

    path = Path(path)
    tokenizer, text = _tiny_t5()
    codebook_size = 32
    # The decoder reads [chroma frames, text tokens, audio frames] as one sequence: its positions
    # must cover chroma_length + a prompt + the generated frames.
    # Weights drawn with std 1 (not 0.02): the random model's logits are then far from flat, so
    # its samples follow the chroma and the prompt, and a test can see that they reach it.
    decoder = MusicgenMelodyDecoderConfig(vocab_size=codebook_size, num_codebooks=2, hidden_size=16, ffn_dim=32,
                                          num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=512,
                                          pad_token_id=codebook_size, bos_token_id=codebook_size,
                                          initializer_factor=1.0)
    config = MusicgenMelodyConfig(text_encoder=text, audio_encoder=_tiny_encodec(), decoder=decoder,
                                  num_chroma=12, chroma_length=32)
    torch.manual_seed(0)
    model = MusicgenMelodyForConditionalGeneration(config)
    random_codebooks(model)
    model.generation_config.update(decoder_start_token_id=codebook_size, pad_token_id=codebook_size,
                                   bos_token_id=codebook_size, do_sample=True, guidance_scale=3.0,
                                   max_length=256, top_k=8)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps({
        "feature_extractor_type": "MusicgenMelodyFeatureExtractor", "processor_class": "MusicgenMelodyProcessor",
        "feature_size": 12, "sampling_rate": 32000, "hop_length": 4096, "chunk_length": 30, "n_fft": 16384,
        "num_chroma": 12, "padding_value": 0.0, "padding_side": "right", "return_attention_mask": False,
        "stem_indices": [3, 2]}, indent=2))
    return path


def make_tiny_clap(path) -> Path:
    """Save a tiny CLAP (1-layer RoBERTa-like text tower, 2-stage HTSAT) to ``path``.

    The audio tower keeps the real geometry the feature extractor dictates (64 mel bins,
    ``spec_size`` 256 so a 10 s / 1001-frame mel fits) and shrinks only widths and depths;
    ``projection_dim`` stays 512, so embeddings have the real size.
    """
    import torch
    from transformers import ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, ClapTextConfig

    path = Path(path)
    tokenizer, n_vocab = roberta_word_tokenizer()
    text = ClapTextConfig(vocab_size=n_vocab, hidden_size=16, num_hidden_layers=1,
                          num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                          projection_dim=512)
    # hidden_size must equal the last stage's width, patch_embeds_hidden_size * 2 ** (stages - 1).
    audio = ClapAudioConfig(spec_size=256, num_mel_bins=64, window_size=8,
                            patch_embeds_hidden_size=8, depths=[1, 1], num_attention_heads=[1, 2],
                            hidden_size=16, projection_dim=512, enable_fusion=False)
    config = ClapConfig(text_config=text, audio_config=audio, projection_dim=512)
    torch.manual_seed(0)
    ClapModel(config).save_pretrained(path)
    feature_extractor = ClapFeatureExtractor(truncation="rand_trunc", padding="repeatpad")
    ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_musicgen_path(tmp_path_factory) -> Path:
    return make_tiny_musicgen(tmp_path_factory.mktemp("tiny-musicgen"))


@pytest.fixture(scope="session")
def tiny_musicgen_melody_path(tmp_path_factory) -> Path:
    return make_tiny_musicgen_melody(tmp_path_factory.mktemp("tiny-musicgen-melody"))


@pytest.fixture(scope="session")
def tiny_clap_path(tmp_path_factory) -> Path:
    return make_tiny_clap(tmp_path_factory.mktemp("tiny-clap"))
