"""What members see: the one path for untrusted text, Discord's limits, embeds, texts,
charts.
"""
