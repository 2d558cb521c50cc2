namespace octet { class OpRegistry; void register_resize_ops(OpRegistry&) {} }
