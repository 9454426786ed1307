#!/usr/bin/env bash
# Fetch a small benchmark set of real (human-made, recorded/produced) music from
# Debian bookworm packages, PyPI and npm, and copy the chosen audio files to OUT.
#   usage: sudo bash fetch_realmusic.sh [OUT_DIR]      (default ./tracks)
#   env:   SKIP_PIP=1 / SKIP_NPM=1 to skip the PyPI / npm sources,
#          CORE_ONLY=1 to fetch only gcompris-qt-data, sonic-pi-samples, warzone2100-music.
# Needs: apt-get + dpkg-deb (root for `apt-get update`), python3 (stdlib only);
#        python3 -m pip for the librosa item; npm for the audio-lena item.
set -euo pipefail
OUT=$(realpath -m "${1:-./tracks}")
WORK=$(mktemp -d /tmp/realmusic-fetch.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"/{performed,short,produced}
cd "$WORK"

PKGS=(gcompris-qt-data sonic-pi-samples warzone2100-music)
[ "${CORE_ONLY:-0}" = 1 ] || PKGS+=(hyperrogue-music frozen-bubble-data singularity-music drascula-music asc-music)

apt-get update -qq
apt-get download "${PKGS[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
mkdir -p x
for d in ./*.deb; do n=$(basename "$d"); n=${n%%_*}; dpkg-deb -x "$d" "x/$n"
  echo "$n $(dpkg-deb -f "$d" Version)" >> "$OUT/SOURCES.txt"; done

# --- GCompris "explore world music": files live inside a Qt .rcc resource bundle
cat > unrcc.py <<'PY'
import os, struct, sys, zlib
path, outdir, filt = sys.argv[1], sys.argv[2], sys.argv[3]
b = open(path, "rb").read(); assert b[:4] == b"qres"
ver, tree, data, names = struct.unpack(">IIII", b[4:20]); ns = 22 if ver >= 2 else 14
def name(o):
    n = struct.unpack(">H", b[names+o:names+o+2])[0]
    return b[names+o+6:names+o+6+2*n].decode("utf-16-be")
def walk(i, pre):
    p = tree + i*ns; noff, fl = struct.unpack(">IH", b[p:p+6])
    full = pre + "/" + name(noff) if i else pre
    if fl & 2:
        cnt, first = struct.unpack(">II", b[p+6:p+14])
        for c in range(first, first+cnt): walk(c, full)
    else:
        q = data + struct.unpack(">I", b[p+10:p+14])[0]
        size = struct.unpack(">I", b[q:q+4])[0]; blob = b[q+4:q+4+size]
        if fl & 1: blob = zlib.decompress(blob[4:])
        if filt in full:
            out = os.path.join(outdir, os.path.basename(full)); open(out, "wb").write(blob)
walk(0, "")
PY
mkdir -p gc
python3 unrcc.py x/gcompris-qt-data/usr/share/gcompris-qt/rcc/explore_world_music.rcc gc /resource/music/
for f in africa:djembe america:rocknroll australia:didgeridoo beethoven:sym9_mvt2 \
         ireland:wind_that_shakes_the_barley italy:caruso_ombra_mai_fu japan:taiko \
         mexico:mariachi_himno middleeast:safiye_ayla_katibim; do
  cp "gc/${f%%:*}.ogg" "$OUT/performed/gcompris_${f%%:*}_${f#*:}.ogg"; done
cp gc/README "$OUT/performed/gcompris_music_README.txt"

# --- Sonic Pi: short CC0 recordings (real drums / tabla / guitar)
S=x/sonic-pi-samples/usr/share/sonic-pi/samples
for f in loop_amen_full loop_tabla guit_em9; do cp "$S/$f.flac" "$OUT/short/sonicpi_$f.flac"; done

# --- Warzone 2100 (album.json gives a "bpm" per track)
W=x/warzone2100-music/usr/share/games/warzone2100/music/albums
cp "$W/original_soundtrack/track1.opus" "$OUT/produced/wz2100_ost_track1_80bpm.opus"
cp "$W/legacy_soundtrack/track8.opus"  "$OUT/produced/wz2100_legacy_track8_advanced_manufacturing_80bpm.opus"
cp "$W/legacy_soundtrack/track11.opus" "$OUT/produced/wz2100_legacy_track11_awakened_100bpm.opus"
cp "$W/legacy_soundtrack/track16.opus" "$OUT/produced/wz2100_legacy_track16_geiger_ghosts_125bpm.opus"
cp "$W/legacy_soundtrack/track13.opus" "$OUT/produced/wz2100_legacy_track13_broken_dreams_130bpm.opus"

if [ "${CORE_ONLY:-0}" != 1 ]; then
  H=x/hyperrogue-music/usr/share/hyperrogue/music
  for f in hr-savino-caribbean hr-domina-mountain hr3-desert; do cp "$H/$f.ogg" "$OUT/produced/hyperrogue_$f.ogg"; done
  cp x/frozen-bubble-data/usr/share/games/frozen-bubble/snd/introzik.ogg "$OUT/produced/frozenbubble_introzik.ogg"
  cp x/singularity-music/usr/share/games/singularity/music/Awakening.ogg "$OUT/produced/singularity_awakening.ogg"
  cp x/drascula-music/usr/share/scummvm/drascula/audio/track2.ogg "$OUT/produced/drascula_track2.ogg"
  cp x/asc-music/usr/share/games/asc/music/frontiers.mp3 "$OUT/produced/asc_frontiers.mp3"
fi

# --- PyPI: librosa 0.7.2 sdist still bundled its example track (removed in >=0.8)
if [ "${SKIP_PIP:-0}" != 1 ] && python3 -m pip --version >/dev/null 2>&1; then
  python3 -m pip download -q --no-deps --no-binary :all: -d pip librosa==0.7.2
  tar xzf pip/librosa-0.7.2.tar.gz librosa-0.7.2/librosa/util/example_data/Kevin_MacLeod_-_Vibe_Ace.ogg
  cp librosa-0.7.2/librosa/util/example_data/Kevin_MacLeod_-_Vibe_Ace.ogg "$OUT/produced/librosa072_kevin_macleod_vibe_ace.ogg"
  echo "librosa(PyPI sdist) 0.7.2" >> "$OUT/SOURCES.txt"
fi
# --- npm: audio-lena (12 s sung excerpt)
if [ "${SKIP_NPM:-0}" != 1 ] && command -v npm >/dev/null; then
  (mkdir -p npm && cd npm && npm pack -q audio-lena@3.0.1 >/dev/null && tar xzf audio-lena-3.0.1.tgz package/lena.flac)
  cp npm/package/lena.flac "$OUT/performed/audio-lena_lena_stolze_oh_lad_le.flac"
  echo "audio-lena(npm) 3.0.1" >> "$OUT/SOURCES.txt"
fi
echo "done: $(find "$OUT" -type f | wc -l) files in $OUT"
