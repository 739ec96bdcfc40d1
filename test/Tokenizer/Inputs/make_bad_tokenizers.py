#!/usr/bin/env python3
"""Write malformed or unsupported variants of a tokenizer.json into a folder.

    make_bad_tokenizers.py GOOD_TOKENIZER_JSON OUT_DIR

Each file is the good tokenizer with one defect, named after the defect, so
that errors.test can check pmpd-tokenize names the file and the field.
"""

import json
import os
import sys


def main():
    good_path, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    with open(good_path, encoding="utf-8") as f:
        good = json.load(f)

    def variant(name, mutate):
        config = json.loads(json.dumps(good))
        mutate(config)
        with open(os.path.join(out_dir, name + ".json"), "w",
                  encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False)

    with open(os.path.join(out_dir, "not-json.json"), "w") as f:
        f.write('{"model": {"type": "BPE", ')
    variant("no-model", lambda c: c.pop("model"))
    variant("wordpiece", lambda c: c["model"].update(type="WordPiece"))
    variant("byte-fallback", lambda c: c["model"].update(byte_fallback=True))
    variant("merge-token",
            lambda c: c["model"]["merges"].insert(5, ["Ġ", "notatoken"]))
    variant("duplicate-id", lambda c: c["model"]["vocab"].update(zzz=300))
    variant("normalizer",
            lambda c: c.update(normalizer={"type": "NFKC"}))
    variant("split-pre-tokenizer",
            lambda c: c.update(pre_tokenizer={
                "type": "Sequence",
                "pretokenizers": [{"type": "Split", "pattern": {"Regex": "x"},
                                   "behavior": "Isolated", "invert": False},
                                  c["pre_tokenizer"]]}))
    variant("bert-post-processor",
            lambda c: c.update(post_processor={"type": "BertProcessing"}))
    # One id far beyond the others: the id tables would be huge.
    variant("sparse-id",
            lambda c: c["model"]["vocab"].update(zzz=16777215))


if __name__ == "__main__":
    main()
