"""A launch from a platform, end to end on the tool's side.

- validate: the OIDC login and the launch POST, checked by the pylti1p3 adapter in lti_tool.lti;
- record: the learner, course, link, grade column and launch rows of an accepted launch;
- dispatch: where an accepted launch lands (resource link, deep linking, instructor);
- live: the launch as every later page reads it, by the id in its URL, with typed properties;
- locale: the interface language of a launch.

Nothing is imported here: lti_tool.lti and the services import single modules of this package.
"""
