#!/usr/bin/env bash
# Convert Textual SVG screenshots to PNG with rsvg-convert.
# Needs Debian's librsvg2-bin, fonts-firacode and fonts-symbola. Textual's SVG
# lacks xml:space="preserve", without which leading spaces are dropped.
set -euo pipefail
for svg in "$@"; do
  png="${svg%.svg}.png"
  sed 's/<svg /<svg xml:space="preserve" /' "$svg" | rsvg-convert -o "$png" /dev/stdin
  echo "$png"
done
