"""Randomly initialised checkpoints with the real models' sizes, for timing without the weights.

``make gpu-check`` times facebook/musicgen-small and laion/larger_clap_music when their weights
are in the local cache. Where they are not (nothing is downloaded at run time) but a GPU is,
these builders save the same architectures with random weights, so the timing still covers the
real amount of work: the compute of a generate call or an audio-tower pass does not depend on
the weights' values (a render's length is fixed by ``max_new_tokens``). What such a model
outputs is noise: these checkpoints time the code, they say nothing about the music.

Sizes: musicgen-small is a 24-layer, 1024-wide decoder over 4 codebooks of 2048 entries, a
T5-base text encoder and the 32 kHz EnCodec (as its config.json on the Hugging Face hub);
larger_clap_music has the HTSAT-base audio tower (width 128 -> 1024, depths 2/2/12/2) that
transformers' CLAP conversion script sets for it, and a RoBERTa-base text tower. The
tokenizers are the tests' word-level ones (no real tokenizer can be fetched; prompt length
hardly changes the cost).
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_models import roberta_word_tokenizer, save_random_musicgen, t5_word_tokenizer

CODEBOOK_SIZE = 2048


def make_random_musicgen_small(path) -> Path:
    """Save a random-weight model with musicgen-small's architecture (about 590 M parameters)."""
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, T5Config

    path = Path(path)
    tokenizer, _ = t5_word_tokenizer()
    text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12,
                    feed_forward_proj="relu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    # 2048 entries (11 bits) x 4 quantizers x 50 frames/s = 2.2 kbps.
    audio = EncodecConfig(sampling_rate=32000, audio_channels=1, num_filters=64, codebook_size=CODEBOOK_SIZE,
                          codebook_dim=128, hidden_size=128, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2],
                          num_residual_layers=1, num_lstm_layers=2, kernel_size=7, last_kernel_size=7,
                          residual_kernel_size=3, dilation_growth_rate=2, compress=2, normalize=False,
                          use_causal_conv=False, norm_type="weight_norm", pad_mode="reflect", use_conv_shortcut=False)
    decoder = MusicgenDecoderConfig(vocab_size=CODEBOOK_SIZE, num_codebooks=4, hidden_size=1024, ffn_dim=4096,
                                    num_hidden_layers=24, num_attention_heads=16, max_position_embeddings=2048,
                                    activation_function="gelu", pad_token_id=CODEBOOK_SIZE,
                                    bos_token_id=CODEBOOK_SIZE)
    config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    return save_random_musicgen(config, tokenizer, path, max_length=1500, top_k=250)


def make_random_larger_clap(path) -> Path:
    """Save a random-weight model with larger_clap_music's architecture (HTSAT-base + RoBERTa-base)."""
    import torch
    from transformers import ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, ClapTextConfig

    path = Path(path)
    tokenizer, _ = roberta_word_tokenizer()
    text = ClapTextConfig(projection_dim=512)  # RoBERTa-base: 12 layers, 768 wide, 50265 tokens
    audio = ClapAudioConfig(spec_size=256, num_mel_bins=64, window_size=8, patch_embeds_hidden_size=128,
                            depths=[2, 2, 12, 2], num_attention_heads=[4, 8, 16, 32], hidden_size=1024,
                            projection_dim=512, enable_fusion=False)
    torch.manual_seed(0)
    ClapModel(ClapConfig(text_config=text, audio_config=audio, projection_dim=512)).save_pretrained(path)
    feature_extractor = ClapFeatureExtractor(truncation="rand_trunc", padding="repeatpad")
    ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(path)
    return path
