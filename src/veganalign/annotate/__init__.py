"""People in the loop: review and ranking in Label Studio, and how far annotators agree.

``project`` renders a Label Studio project from the spec, ``imports`` turns a Label Studio
export into preference pairs and reviewed SFT examples (the data contracts), ``agreement``
measures annotators against each other. Label Studio itself is never a dependency: it runs
as its own process from its own environment.
"""
