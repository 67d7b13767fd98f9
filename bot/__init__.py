"""政策助手: policy measures for enterprises, from the seed documents to the answer."""
