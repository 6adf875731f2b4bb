"""The reader network: MiniLM with a sentence-answers-question logit and start/end logits per token."""
from __future__ import annotations


def make_net(eager: bool = False):
    """MiniLM + a [CLS] classification logit + start/end logits per token."""
    import torch
    from transformers import AutoModel

    from ..encoders import model_path

    base = AutoModel.from_pretrained(str(model_path()), local_files_only=True,
                                     attn_implementation="eager" if eager else None)

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = base
            h = base.config.hidden_size
            self.drop = torch.nn.Dropout(0.1)
            self.cls = torch.nn.Linear(h, 1)
            self.span = torch.nn.Linear(h, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            hs = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           return_dict=True).last_hidden_state
            se = self.span(hs)
            return self.cls(self.drop(hs[:, 0])).squeeze(-1), se[..., 0], se[..., 1]

    return ReaderNet()
